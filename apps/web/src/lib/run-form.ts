import {
  ContainerNameSchema,
  parseByteSize,
  RunContainerInputSchema,
  type RunContainerInput,
} from "@berth/core";
import { splitArgv } from "./argv";

/** What the "Run container" form holds, as typed. */
export interface RunFormValues {
  image: string;
  command: string;
  name: string;
  node: string | null;
  memory: string;
  pidsLimit: string;
  autoRemove: boolean;
}

export type RunFormField =
  "image" | "command" | "name" | "node" | "memory" | "pidsLimit" | "autoRemove";

export const defaultRunFormValues = (): RunFormValues => ({
  image: "busybox",
  command: "",
  name: "",
  node: null,
  memory: "",
  pidsLimit: "",
  autoRemove: false,
});

export type RunFormResult =
  | { ok: true; input: RunContainerInput }
  | { ok: false; errors: Partial<Record<RunFormField, string>> };

/** Maps an issue path of RunContainerInputSchema to the form field that produced it. */
function fieldOf(path: readonly PropertyKey[]): RunFormField | undefined {
  const [a, b, c] = path;
  if (a === "name") return "name";
  if (a === "node") return "node";
  if (a === "autoRemove") return "autoRemove";
  if (a === "spec" && b === "image") return "image";
  if (a === "spec" && b === "command") return "command";
  if (a === "spec" && b === "limits" && c === "memoryBytes") return "memory";
  if (a === "spec" && b === "limits" && c === "pidsLimit") return "pidsLimit";
  return undefined;
}

/**
 * Turns the form into a `containers.run` input, validated with the same schema the server
 * uses, or into one message per field.
 */
export function buildRunInput(values: RunFormValues): RunFormResult {
  const errors: Partial<Record<RunFormField, string>> = {};

  let command: string[] | undefined;
  try {
    const argv = splitArgv(values.command);
    command = argv.length > 0 ? argv : undefined;
  } catch (e) {
    errors.command = (e as Error).message;
  }

  let memoryBytes: number | undefined;
  if (values.memory.trim() !== "") {
    try {
      memoryBytes = parseByteSize(values.memory);
    } catch (e) {
      errors.memory = (e as Error).message;
    }
  }

  let pidsLimit: number | undefined;
  if (values.pidsLimit.trim() !== "") {
    const n = Number(values.pidsLimit.trim());
    if (!/^\d+$/.test(values.pidsLimit.trim()) || !Number.isSafeInteger(n))
      errors.pidsLimit = "the PIDs limit is a whole number";
    else pidsLimit = n;
  }

  const name = values.name.trim();
  if (name !== "") {
    const r = ContainerNameSchema.safeParse(name);
    if (!r.success) errors.name = r.error.issues[0]?.message ?? "invalid container name";
  }

  const limits: { memoryBytes?: number; pidsLimit?: number } = {};
  if (memoryBytes !== undefined) limits.memoryBytes = memoryBytes;
  if (pidsLimit !== undefined) limits.pidsLimit = pidsLimit;

  const candidate = {
    ...(name !== "" ? { name } : {}),
    ...(values.node ? { node: values.node } : {}),
    autoRemove: values.autoRemove,
    spec: { image: values.image.trim(), ...(command ? { command } : {}), limits },
  };
  const parsed = RunContainerInputSchema.safeParse(candidate);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const field = fieldOf(issue.path);
      if (field && !errors[field]) errors[field] = issue.message;
      else if (!field && !errors.image) errors.image = `${issue.path.join(".")}: ${issue.message}`;
    }
  }
  if (Object.keys(errors).length > 0) return { ok: false, errors };
  // Send the input as built, not the parsed output, so the server applies its own defaults.
  return { ok: true, input: candidate };
}
