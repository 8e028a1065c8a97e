/**
 * Namespaces and volumes of a container's OCI spec: which namespaces it shares with the host,
 * bind mounts (`-v /host:/ctr[:ro]`) and agent-managed named volumes
 * (`<stateDir>/volumes/<name>/_data`). Everything a user can get wrong is checked before the
 * container exists; mount targets are resolved inside the rootfs with resolveInRoot, so a
 * symlink in the image cannot point a mount outside it.
 */
import { mkdir, readdir, realpath, rm, stat } from "node:fs/promises";
import { join, posix, relative, resolve, sep } from "node:path";
import {
  DomainError,
  VolumeNameSchema,
  conflict,
  notFound,
  type Mount,
  type NamespaceOptions,
} from "@berth/core";
import type { OciMount, SpecOpt } from "../runtime/spec/oci-spec";
import type { NamespaceType } from "../runtime/spec/spec-opts";
import { isErrno } from "../sys/fs";
import { isInside, resolveInRoot } from "../sys/path";

/** Host paths that may never be bind-mounted (nor anything below them). */
const FORBIDDEN_SOURCES = ["/proc", "/sys", "/dev"];
/** Container paths the runtime owns: no bind mount over them or below them. */
const RESERVED_TARGETS = ["/proc", "/sys", "/dev"];

/**
 * The namespaces a container gets: network, mount and cgroup always private; pid, ipc and uts
 * private unless shared with the host. A hostname needs a private uts namespace.
 */
export function namespacesFor(
  opts: NamespaceOptions | undefined,
  hostname: string | undefined,
): NamespaceType[] {
  const ns: NamespaceType[] = [];
  if (opts?.pid !== "host") ns.push("pid");
  ns.push("network");
  if (opts?.uts !== "host") ns.push("uts");
  else if (hostname !== undefined)
    throw new DomainError("invalid_input", "--hostname cannot be used with --uts=host");
  ns.push("mount");
  if (opts?.ipc !== "host") ns.push("ipc");
  ns.push("cgroup");
  return ns;
}

/** A normalized, absolute mount target off `/` and the runtime's own mounts. */
export function checkMountTarget(target: string): string {
  if (!posix.isAbsolute(target) || target.split("/").includes(".."))
    throw new DomainError(
      "invalid_input",
      `mount target ${target} must be an absolute path without ..`,
    );
  const norm = posix.normalize(target);
  const clean = norm.length > 1 ? norm.replace(/\/+$/, "") : norm;
  if (clean === "/")
    throw new DomainError("invalid_input", "a volume cannot be mounted over the root filesystem");
  for (const r of RESERVED_TARGETS)
    if (clean === r || clean.startsWith(`${r}/`))
      throw new DomainError(
        "invalid_input",
        `mount target ${target} is under ${r}, which the runtime owns`,
      );
  return clean;
}

/**
 * Checks a bind source: absolute, no `..`, exists, and (after resolving host symlinks) is not
 * `/`, /proc, /sys, /dev, the agent's state dir, anything inside them or an ancestor of the
 * state dir. Returns the real path, which is what gets mounted.
 */
export async function checkBindSource(source: string, stateDir: string): Promise<string> {
  if (!posix.isAbsolute(source) || source.split("/").includes(".."))
    throw new DomainError(
      "invalid_input",
      `bind mount source ${source} must be an absolute path without ..`,
    );
  let real: string;
  try {
    real = await realpath(source);
  } catch (e) {
    if (isErrno(e, "ENOENT") || isErrno(e, "ENOTDIR"))
      throw new DomainError("invalid_input", `bind mount source ${source} does not exist`);
    throw e;
  }
  const refuse = (why: string): never => {
    throw new DomainError("forbidden", `bind mount source ${source} is refused: ${why}`);
  };
  if (real === "/") refuse("it is the host's root filesystem");
  for (const f of FORBIDDEN_SOURCES)
    if (isInside(f, real)) refuse(`it is ${f === real ? "" : "inside "}${f}`);
  const state = await realpath(stateDir).catch(() => resolve(stateDir));
  if (isInside(state, real)) refuse("it is inside the agent's state directory");
  if (isInside(real, state)) refuse("it contains the agent's state directory");
  return real;
}

export interface VolumeInfo {
  name: string;
  mountpoint: string;
  createdAt: string;
}

/** Named volumes: `<stateDir>/volumes/<name>/_data`, created on first use. */
export class VolumeStore {
  readonly dir: string;

  constructor(stateDir: string) {
    this.dir = join(stateDir, "volumes");
  }

  private pathOf(name: string): string {
    const n = VolumeNameSchema.parse(name);
    return join(this.dir, n);
  }

  /** Creates the volume if it does not exist (idempotent, like `docker volume create`). */
  async create(name: string): Promise<VolumeInfo> {
    const p = this.pathOf(name);
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await mkdir(p, { recursive: true, mode: 0o700 });
    await mkdir(join(p, "_data"), { recursive: true, mode: 0o755 });
    return this.inspect(name);
  }

  async inspect(name: string): Promise<VolumeInfo> {
    const p = this.pathOf(name);
    try {
      const st = await stat(join(p, "_data"));
      return { name, mountpoint: join(p, "_data"), createdAt: st.birthtime.toISOString() };
    } catch (e) {
      if (isErrno(e, "ENOENT")) throw notFound(`volume ${name} not found on this node`, { name });
      throw e;
    }
  }

  async list(): Promise<VolumeInfo[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (e) {
      if (isErrno(e, "ENOENT")) return [];
      throw e;
    }
    const out: VolumeInfo[] = [];
    for (const n of names.sort()) {
      if (!VolumeNameSchema.safeParse(n).success) continue;
      try {
        out.push(await this.inspect(n));
      } catch (e) {
        // Removed meanwhile: not listed.
        if (!(e instanceof DomainError)) throw e;
      }
    }
    return out;
  }

  /** Deletes a volume and its data; `usedBy` lists the containers that still mount it. */
  async remove(name: string, usedBy: readonly string[]): Promise<void> {
    const p = this.pathOf(name);
    await this.inspect(name);
    if (usedBy.length > 0)
      throw conflict(
        `volume ${name} is in use by container${usedBy.length > 1 ? "s" : ""} ${usedBy
          .map((id) => id.slice(0, 12))
          .join(", ")}`,
      );
    await rm(p, { recursive: true, force: true });
  }
}

export interface ResolvedMount {
  source: string;
  /** Absolute path inside the container with every image symlink already resolved in-root. */
  destination: string;
  readOnly: boolean;
}

/**
 * Validates every mount (targets unique and safe, bind sources allowed, volumes created) and
 * resolves each target inside `rootfs` (symlinks clamped to the rootfs). Run after the rootfs
 * is mounted.
 */
export async function resolveMounts(
  mounts: readonly Mount[],
  ctx: { stateDir: string; rootfs: string; volumes: VolumeStore },
): Promise<ResolvedMount[]> {
  const seen = new Set<string>();
  const out: ResolvedMount[] = [];
  for (const m of mounts) {
    const target = checkMountTarget(m.target);
    if (seen.has(target))
      throw new DomainError("invalid_input", `mount target ${target} is given twice`);
    seen.add(target);
    const source =
      m.type === "bind"
        ? await checkBindSource(m.source, ctx.stateDir)
        : (await ctx.volumes.create(m.source)).mountpoint;
    const hostPath = await resolveInRoot(ctx.rootfs, target);
    if (!isInside(ctx.rootfs, hostPath) || hostPath === resolve(ctx.rootfs))
      throw new DomainError("invalid_input", `mount target ${target} resolves to the rootfs root`);
    const rel = relative(resolve(ctx.rootfs), hostPath).split(sep).join("/");
    out.push({ source, destination: `/${rel}`, readOnly: m.readOnly });
  }
  return out;
}

/** Only validates (no filesystem access for targets): for the checks before anything exists. */
export async function precheckMounts(mounts: readonly Mount[], stateDir: string): Promise<void> {
  const seen = new Set<string>();
  for (const m of mounts) {
    const target = checkMountTarget(m.target);
    if (seen.has(target))
      throw new DomainError("invalid_input", `mount target ${target} is given twice`);
    seen.add(target);
    if (m.type === "bind") await checkBindSource(m.source, stateDir);
  }
}

/** Adds bind mounts (named volumes are bind mounts of their _data dir). */
export const withMounts =
  (mounts: readonly ResolvedMount[]): SpecOpt =>
  (s) => {
    for (const m of mounts) {
      const om: OciMount = {
        destination: m.destination,
        type: "bind",
        source: m.source,
        options: ["rbind", "rprivate", m.readOnly ? "ro" : "rw"],
      };
      s.mounts = s.mounts.filter((x) => x.destination !== m.destination);
      s.mounts.push(om);
    }
  };
