/**
 * What the container runs, resolved from the user's spec and the image config the way Docker
 * does it: entrypoint + cmd, env merged by key, working dir, user (name or uid[:gid], looked
 * up in the container's own /etc/passwd and /etc/group), and the executable found in $PATH
 * inside the rootfs — never on the host.
 */
import { constants } from "node:fs";
import { access, readFile, stat } from "node:fs/promises";
import { posix } from "node:path";
import { HealthcheckSchema, invalidInput, type ContainerSpec, type Healthcheck } from "@berth/core";
import { resolveInRoot } from "../sys/path";
import type { ImageConfig } from "../images/oci";

export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

export interface ProcessConfig {
  args: string[];
  env: string[];
  cwd: string;
  user: string | undefined;
}

export function processConfig(
  spec: ContainerSpec,
  image: ImageConfig,
  hostname: string,
): ProcessConfig {
  const ic = image.config ?? {};
  const entrypoint = spec.entrypoint ?? ic.Entrypoint ?? [];
  // Docker: overriding the entrypoint drops the image's CMD.
  const cmd = spec.command ?? (spec.entrypoint !== undefined ? [] : (ic.Cmd ?? []));
  const args = [...entrypoint, ...cmd];
  if (args.length === 0)
    throw invalidInput(
      "no command specified: the image has no CMD or ENTRYPOINT and none was given",
    );
  const env = new Map<string, string>();
  const put = (kv: string) => {
    const i = kv.indexOf("=");
    if (i > 0) env.set(kv.slice(0, i), kv);
  };
  put(`PATH=${DEFAULT_PATH}`);
  put(`HOSTNAME=${hostname}`);
  for (const e of ic.Env ?? []) put(e);
  for (const e of spec.env) put(e);
  if (!env.has("HOME")) put("HOME=/root");
  return {
    args,
    env: [...env.values()],
    cwd: spec.workingDir ?? (ic.WorkingDir || "/"),
    user: spec.user ?? (ic.User || undefined),
  };
}

export function envValue(env: readonly string[], key: string): string | undefined {
  const e = env.find((x) => x.startsWith(`${key}=`));
  return e?.slice(key.length + 1);
}

async function isExecutableFile(p: string): Promise<boolean> {
  try {
    const st = await stat(p);
    if (!st.isFile()) return false;
    await access(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Finds args[0] inside the rootfs like execvp would inside the container. Throws
 * invalid_input `executable file not found in $PATH: "foo"` (exit code 127 semantics).
 */
export async function findExecutable(
  rootfs: string,
  file: string,
  env: readonly string[],
  cwd: string,
): Promise<string> {
  if (file.includes("/")) {
    const inside = posix.isAbsolute(file) ? file : posix.join(cwd, file);
    if (await isExecutableFile(await resolveInRoot(rootfs, inside))) return inside;
    throw invalidInput(`no such file or directory: ${JSON.stringify(file)}`, { exitCode: 127 });
  }
  const path = envValue(env, "PATH") ?? DEFAULT_PATH;
  for (const dir of path.split(":")) {
    const candidate = posix.join(dir || ".", file);
    const inside = posix.isAbsolute(candidate) ? candidate : posix.join(cwd, candidate);
    if (await isExecutableFile(await resolveInRoot(rootfs, inside))) return candidate;
  }
  throw invalidInput(`executable file not found in $PATH: ${JSON.stringify(file)}`, {
    exitCode: 127,
  });
}

async function readInRoot(rootfs: string, p: string): Promise<string> {
  try {
    return await readFile(await resolveInRoot(rootfs, p), "utf8");
  } catch {
    return "";
  }
}

/** Resolves `user` ("name", "uid", "name:group", "uid:gid") with the rootfs's passwd/group. */
export async function resolveUser(
  rootfs: string,
  user: string | undefined,
): Promise<{ uid: number; gid: number }> {
  if (!user) return { uid: 0, gid: 0 };
  const [u, g] = user.split(":", 2) as [string, string | undefined];
  let uid: number | undefined;
  let gid: number | undefined;
  if (/^\d+$/.test(u)) uid = Number(u);
  const passwd = (await readInRoot(rootfs, "/etc/passwd")).split("\n").map((l) => l.split(":"));
  const pw = passwd.find((f) => (uid !== undefined ? Number(f[2]) === uid : f[0] === u));
  if (uid === undefined) {
    if (!pw) throw invalidInput(`unable to find user ${u}: no matching entries in passwd file`);
    uid = Number(pw[2]);
  }
  gid = pw && pw[3] !== undefined ? Number(pw[3]) : 0;
  if (g !== undefined) {
    if (/^\d+$/.test(g)) gid = Number(g);
    else {
      const gr = (await readInRoot(rootfs, "/etc/group"))
        .split("\n")
        .map((l) => l.split(":"))
        .find((f) => f[0] === g);
      if (!gr) throw invalidInput(`unable to find group ${g}: no matching entries in group file`);
      gid = Number(gr[2]);
    }
  }
  return { uid, gid };
}

/** Nanoseconds (image config) to milliseconds; 0 or absent → undefined (docker: the default). */
function nsToMs(ns: number | undefined): number | undefined {
  if (ns === undefined || ns <= 0) return undefined;
  return Math.max(1, Math.round(ns / 1e6));
}

/**
 * The image's HEALTHCHECK (`config.Healthcheck`: `Test` ["CMD", …] / ["CMD-SHELL", "…"] /
 * ["NONE"], durations in nanoseconds, 0 = default) as a spec healthcheck; undefined when the
 * image has none or an empty `Test` (docker: inherit, and there is nothing to inherit). An
 * entry the spec schema refuses is reported through `warn` and ignored, as a broken image
 * healthcheck must not stop the container from running.
 */
export function imageHealthcheck(
  image: ImageConfig,
  warn: (msg: string) => void = () => undefined,
): Healthcheck | undefined {
  const hc = image.config?.Healthcheck;
  if (!hc?.Test || hc.Test.length === 0) return undefined;
  const parsed = HealthcheckSchema.safeParse({
    test: hc.Test,
    intervalMs: nsToMs(hc.Interval),
    timeoutMs: nsToMs(hc.Timeout),
    startPeriodMs: nsToMs(hc.StartPeriod),
    retries: hc.Retries || undefined,
  });
  if (!parsed.success) {
    warn(
      `ignoring the image's HEALTHCHECK: ${parsed.error.issues.map((i) => i.message).join("; ")}`,
    );
    return undefined;
  }
  return parsed.data;
}

/**
 * The healthcheck a container runs: the spec's (`--health-cmd`), else the image's; none when
 * the result is ["NONE"] (`--no-healthcheck` disables the image's too).
 */
export function effectiveHealthcheck(
  spec: ContainerSpec,
  image: ImageConfig,
  warn?: (msg: string) => void,
): Healthcheck | null {
  const hc = spec.healthcheck ?? imageHealthcheck(image, warn);
  if (!hc || hc.test[0] === "NONE") return null;
  return hc;
}
