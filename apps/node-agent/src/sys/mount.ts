/**
 * Mounts, through the `mount`/`umount` binaries (argv arrays, no shell), and a parser for
 * /proc/self/mountinfo to ask whether something is mounted.
 */
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { run } from "./exec";

/** overlayfs option values cannot carry these characters unescaped. */
const UNSAFE_OVERLAY_PATH = /[,:\\\s]/;

export interface OverlayOptions {
  /** Lower layers, topmost first. */
  lowerDirs: readonly string[];
  upperDir: string;
  workDir: string;
  target: string;
  /** Extra mount options (e.g. `redirect_dir=off`), appended after the dirs. */
  options?: readonly string[];
}

export function overlayMountArgs(o: OverlayOptions): string[] {
  if (o.lowerDirs.length === 0) throw new Error("overlay: at least one lower dir is required");
  for (const p of [...o.lowerDirs, o.upperDir, o.workDir]) {
    if (!p.startsWith("/")) throw new Error(`overlay: path must be absolute: ${p}`);
    if (UNSAFE_OVERLAY_PATH.test(p))
      throw new Error(`overlay: path contains , : \\ or whitespace: ${p}`);
  }
  for (const x of o.options ?? [])
    if (!/^[a-z_]+(=[a-z0-9_]+)?$/.test(x)) throw new Error(`overlay: bad option ${x}`);
  const opts = [
    `lowerdir=${o.lowerDirs.join(":")},upperdir=${o.upperDir},workdir=${o.workDir}`,
    ...(o.options ?? []),
  ].join(",");
  return ["mount", "-t", "overlay", "overlay", "-o", opts, o.target];
}

export async function mountOverlay(o: OverlayOptions): Promise<void> {
  await run(overlayMountArgs(o));
}

/** Unmounts `target` if it is mounted; lazily when it is busy. */
export async function unmount(target: string): Promise<void> {
  if (!(await isMounted(target))) return;
  const r = await run(["umount", target], { allowFailure: true });
  if (r.code === 0) return;
  if (!(await isMounted(target))) return;
  await run(["umount", "-l", target]);
}

export interface MountInfo {
  id: number;
  parentId: number;
  root: string;
  mountPoint: string;
  fsType: string;
  source: string;
  options: string;
  /** Per-superblock options (for cgroup v1: the controllers). */
  superOptions: string;
}

function unescapeOctal(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** Parses /proc/<pid>/mountinfo (proc(5)). */
export function parseMountInfo(text: string): MountInfo[] {
  const out: MountInfo[] = [];
  for (const line of text.split("\n")) {
    if (!line) continue;
    const [left, right] = line.split(" - ");
    if (!left || !right) continue;
    const f = left.split(" ");
    const r = right.split(" ");
    out.push({
      id: Number(f[0]),
      parentId: Number(f[1]),
      root: unescapeOctal(f[3] ?? ""),
      mountPoint: unescapeOctal(f[4] ?? ""),
      options: f[5] ?? "",
      fsType: r[0] ?? "",
      source: unescapeOctal(r[1] ?? ""),
      superOptions: r[2] ?? "",
    });
  }
  return out;
}

export async function readMountInfo(): Promise<MountInfo[]> {
  return parseMountInfo(await readFile("/proc/self/mountinfo", "utf8"));
}

export async function isMounted(target: string): Promise<boolean> {
  const t = resolve(target);
  return (await readMountInfo()).some((m) => m.mountPoint === t);
}
