/**
 * `container.exec`: the process of a `docker exec`, built from the container's own OCI process
 * (so capabilities, no_new_privileges, apparmor, rlimits stay those of the container) with the
 * exec's argv, env merged by key over the container's, cwd (refused under /proc) and user
 * (resolved in the container's /etc/passwd and /etc/group, like the container's user).
 */
import { readFile } from "node:fs/promises";
import { invalidInput, type CommandParams } from "@berth/core";
import { checkWorkingDir } from "../runtime/spec/security";
import { findExecutable, resolveUser } from "./process-config";

export async function execProcess(
  configPath: string,
  rootfs: string,
  p: CommandParams<"container.exec">,
): Promise<Record<string, unknown>> {
  const config = JSON.parse(await readFile(configPath, "utf8")) as {
    process?: Record<string, unknown> & { env?: string[]; cwd?: string };
  };
  const base = config.process;
  if (!base) throw invalidInput("the container's config.json has no process");
  const env = new Map<string, string>();
  for (const kv of [...(base.env ?? []), ...p.env]) {
    const i = kv.indexOf("=");
    if (i > 0) env.set(kv.slice(0, i), kv);
  }
  const cwd = p.workingDir ?? base.cwd ?? "/";
  checkWorkingDir(cwd);
  const envList = [...env.values()];
  // Docker's codes: 127 when the command is not found, 126 when it is not executable.
  await findExecutable(rootfs, p.argv[0]!, envList, cwd);
  const proc: Record<string, unknown> = {
    ...base,
    terminal: false,
    consoleSize: undefined,
    args: p.argv,
    env: envList,
    cwd,
  };
  if (p.user !== undefined) {
    const u = await resolveUser(rootfs, p.user);
    proc.user = { uid: u.uid, gid: u.gid };
  }
  return proc;
}
