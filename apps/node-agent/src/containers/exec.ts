/**
 * `container.exec`: the process of a `docker exec`, built from the container's own OCI process
 * (so capabilities, no_new_privileges, apparmor, rlimits stay those of the container) with the
 * exec's argv, env merged by key over the container's, cwd (refused under /proc) and user
 * (resolved in the container's /etc/passwd and /etc/group, like the container's user).
 * With `tty` the process gets `terminal: true` (runc then creates its pty) and TERM=xterm when
 * neither the container nor the exec sets TERM (docker does the same).
 */
import { readFile } from "node:fs/promises";
import { invalidInput, type CommandParams } from "@berth/core";
import { checkWorkingDir } from "../runtime/spec/security";
import { findExecutable, resolveUser } from "./process-config";

const DEFAULT_COLS = 80;
const DEFAULT_ROWS = 24;

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
  if (p.tty && !env.has("TERM")) env.set("TERM", "TERM=xterm");
  const cwd = p.workingDir ?? base.cwd ?? "/";
  checkWorkingDir(cwd);
  const envList = [...env.values()];
  // Docker's codes: 127 when the command is not found, 126 when it is not executable.
  await findExecutable(rootfs, p.argv[0]!, envList, cwd);
  const proc: Record<string, unknown> = {
    ...base,
    terminal: p.tty === true,
    // runc sizes the container's pty before the process starts (else a quick `stty size` could
    // read 0 0 before runc copies our pty's size over); later resizes go through SIGWINCH.
    consoleSize: p.tty
      ? { width: p.size?.cols ?? DEFAULT_COLS, height: p.size?.rows ?? DEFAULT_ROWS }
      : undefined,
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
