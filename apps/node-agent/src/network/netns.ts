/**
 * Persistent network namespaces, created by the agent before the runtime runs: an nsfs bind
 * mount at a path of the agent's own (`<stateDir>/netns/<containerId>`), made like
 * `ip netns add` does, with `unshare --net=<path>`. The OCI spec then joins it
 * (`linux.namespaces: [{ type: "network", path }]`), so the namespace survives agent restarts
 * and all of its wiring happens before `runc create`. Deleting the mount destroys the
 * namespace once nothing else holds it (which also destroys the container ends of its veths).
 */
import { mkdir, rm, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { run, type RunResult } from "../sys/exec";
import { isErrno } from "../sys/fs";
import { readMountInfo, unmount } from "../sys/mount";

/** Whether `path` is an nsfs mount of a network namespace (not just a file). */
export async function isNetnsMount(path: string): Promise<boolean> {
  const m = (await readMountInfo()).find((x) => x.mountPoint === path);
  return m !== undefined && m.fsType === "nsfs" && m.root.startsWith("net:[");
}

/**
 * Creates a new, empty network namespace (loopback down) pinned at `path`. `loUp` brings
 * loopback up in the same exec; `exec` runs another command inside instead (its argv after
 * `unshare --net=<path> --`, with `input` on stdin), so creating and configuring the namespace
 * cost one subprocess. A failing command removes the namespace again.
 */
export async function createNetns(
  path: string,
  opts: { loUp?: boolean; exec?: { argv: readonly string[]; input?: string } } = {},
): Promise<void> {
  if (!path.startsWith("/")) throw new Error(`netns path must be absolute: ${path}`);
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  try {
    await writeFile(path, "", { flag: "wx", mode: 0o600 });
  } catch (e) {
    if (!isErrno(e, "EEXIST")) throw e;
    if (await isNetnsMount(path)) throw new Error(`network namespace ${path} already exists`);
  }
  try {
    // Bring loopback up inside the same process when asked: one exec for both.
    if (opts.exec)
      await run(["unshare", `--net=${path}`, "--", ...opts.exec.argv], {
        ...(opts.exec.input !== undefined ? { input: opts.exec.input } : {}),
      });
    else
      await run(
        opts.loUp
          ? ["unshare", `--net=${path}`, "--", "ip", "link", "set", "lo", "up"]
          : ["unshare", `--net=${path}`, "--", "true"],
      );
  } catch (e) {
    await unmount(path).catch(() => undefined);
    await rm(path, { force: true });
    throw e;
  }
}

/** Removes the namespace pinned at `path` (unmount, then the file); absent is fine. */
export async function deleteNetns(path: string): Promise<void> {
  await unmount(path);
  await rm(path, { force: true });
}

/** Runs argv inside the namespace (`nsenter --net=<path> argv…`). */
export function inNetns(
  path: string,
  argv: readonly string[],
  opts: { input?: string; allowFailure?: boolean; timeoutMs?: number } = {},
): Promise<RunResult> {
  return run(["nsenter", `--net=${path}`, "--", ...argv], opts);
}
