/**
 * `--device /dev/HOST[:/dev/CONTAINER[:rwm]]` on the host side: the host path is resolved inside
 * /dev with resolveInRoot (a symlink such as /dev/stdin -> /proc/self/fd/0 is clamped to /dev,
 * never followed out of it) and must be a character or block device; its type, major/minor,
 * mode bits and owner go into the OCI spec (runtime/spec/devices.ts).
 */
import { lstat } from "node:fs/promises";
import { posix } from "node:path";
import { invalidInput, type DeviceMapping } from "@berth/core";
import type { ResolvedDevice } from "../runtime/spec/devices";
import { resolveInRoot } from "../sys/path";

/** Mounts runc puts under /dev: a device node there would be hidden or refused. */
const RESERVED = ["/dev/pts", "/dev/shm", "/dev/mqueue"];

/** Linux's dev_t split (glibc's gnu_dev_major / gnu_dev_minor). */
export function splitDev(rdev: bigint): { major: number; minor: number } {
  const major = ((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn);
  const minor = (rdev & 0xffn) | ((rdev >> 12n) & ~0xffn);
  return { major: Number(major), minor: Number(minor) };
}

function containerPathOf(d: DeviceMapping): string {
  const p = posix.normalize(d.containerPath ?? d.hostPath).replace(/\/+$/, "");
  if (!p.startsWith("/dev/") || p.split("/").includes(".."))
    throw invalidInput(`device ${d.hostPath}: the container path ${p} must lie in /dev`);
  if (RESERVED.some((r) => p === r || p.startsWith(`${r}/`)))
    throw invalidInput(`device ${d.hostPath}: the container path ${p} is a mount point of /dev`);
  return p;
}

/** Checks and stats every `--device`; throws invalid_input with the reason for the first bad one. */
export async function resolveDevices(
  devices: readonly DeviceMapping[],
  devRoot = "/dev",
): Promise<ResolvedDevice[]> {
  const out: ResolvedDevice[] = [];
  const seen = new Set<string>();
  for (const d of devices) {
    if (!d.hostPath.startsWith("/dev/") || d.hostPath.split("/").includes(".."))
      throw invalidInput(`device ${d.hostPath}: host devices must be paths in /dev`);
    const path = containerPathOf(d);
    if (seen.has(path)) throw invalidInput(`device ${path} is given twice`);
    seen.add(path);
    const host = await resolveInRoot(devRoot, d.hostPath.slice("/dev".length));
    let st;
    try {
      st = await lstat(host, { bigint: true });
    } catch {
      throw invalidInput(`device ${d.hostPath}: no such device on this host`);
    }
    const type = st.isCharacterDevice() ? "c" : st.isBlockDevice() ? "b" : null;
    if (type === null)
      throw invalidInput(
        `device ${d.hostPath} is not a character or block device` +
          (host !== posix.join(devRoot, d.hostPath.slice("/dev".length))
            ? ` (it resolves to ${host})`
            : ""),
      );
    out.push({
      path,
      type,
      ...splitDev(st.rdev),
      fileMode: Number(st.mode & 0o777n),
      uid: Number(st.uid),
      gid: Number(st.gid),
      permissions: d.permissions,
    });
  }
  return out;
}
