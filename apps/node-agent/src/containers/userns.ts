/**
 * User namespaces (`--userns=auto`): each container gets its own range of 65536 subordinate
 * uids/gids, allocated from a pool that collides with no /etc/subuid or /etc/subgid entry of
 * another user (a `berth` entry there, when present, *is* the pool). Allocations are persisted
 * in `<stateDir>/userns.json`, so a range is never handed out twice while a container holds it,
 * across agent restarts; `release` frees it on rm.
 */
import { chmod, chown, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { DomainError, type ContainerSpec } from "@berth/core";
import type { SpecOpt } from "../runtime/spec/oci-spec";
import { isErrno, writeFileAtomic } from "../sys/fs";

export const USERNS_RANGE_SIZE = 65_536;
/** Default pool: 4096 ranges from 1,000,000,000 (far above the 100000+ ranges useradd hands out). */
export const DEFAULT_POOL = { start: 1_000_000_000, count: 4096 };

const AllocationsSchema = z.object({
  version: z.literal(1),
  /** container id → first host id of its range (uids and gids use the same numbers). */
  ranges: z.record(z.string(), z.number().int().nonnegative()),
});

export interface SubIdEntry {
  name: string;
  start: number;
  count: number;
}

/** Parses /etc/subuid or /etc/subgid (`name:start:count` lines; bad lines are ignored). */
export function parseSubIds(text: string): SubIdEntry[] {
  const out: SubIdEntry[] = [];
  for (const line of text.split("\n")) {
    const m = /^([^:#\s][^:]*):(\d+):(\d+)\s*$/.exec(line.trim());
    if (m) out.push({ name: m[1]!, start: Number(m[2]), count: Number(m[3]) });
  }
  return out;
}

async function readSubIds(path: string): Promise<SubIdEntry[]> {
  try {
    return parseSubIds(await readFile(path, "utf8"));
  } catch (e) {
    if (isErrno(e, "ENOENT")) return [];
    throw e;
  }
}

export interface UsernsRange {
  hostId: number;
  size: number;
}

export class UsernsAllocator {
  private ranges = new Map<string, number>();
  private write: Promise<void> = Promise.resolve();

  private constructor(
    private readonly file: string,
    /** Candidate range starts, in order, already free of other users' sub-ids. */
    private readonly candidates: number[],
  ) {}

  static async open(
    stateDir: string,
    opts: {
      subuidPath?: string;
      subgidPath?: string;
      pool?: { start: number; count: number };
    } = {},
  ): Promise<UsernsAllocator> {
    const entries = [
      ...(await readSubIds(opts.subuidPath ?? "/etc/subuid")),
      ...(await readSubIds(opts.subgidPath ?? "/etc/subgid")),
    ];
    const own = entries.filter((e) => e.name === "berth");
    const others = entries.filter((e) => e.name !== "berth");
    // A `berth` entry in both files is the pool; otherwise the configured one.
    const pools =
      own.length > 0
        ? own.map((e) => ({ start: e.start, end: e.start + e.count }))
        : [
            {
              start: (opts.pool ?? DEFAULT_POOL).start,
              end:
                (opts.pool ?? DEFAULT_POOL).start +
                (opts.pool ?? DEFAULT_POOL).count * USERNS_RANGE_SIZE,
            },
          ];
    const candidates: number[] = [];
    const seen = new Set<number>();
    for (const p of pools)
      for (let s = p.start; s + USERNS_RANGE_SIZE <= p.end; s += USERNS_RANGE_SIZE) {
        const end = s + USERNS_RANGE_SIZE;
        if (s < 65_536 || end > 2 ** 32 - 1) continue;
        if (others.some((o) => s < o.start + o.count && o.start < end)) continue;
        if (!seen.has(s)) candidates.push(s);
        seen.add(s);
      }
    const a = new UsernsAllocator(join(stateDir, "userns.json"), candidates);
    try {
      const parsed = AllocationsSchema.parse(JSON.parse(await readFile(a.file, "utf8")));
      a.ranges = new Map(Object.entries(parsed.ranges));
    } catch (e) {
      if (!isErrno(e, "ENOENT")) throw e;
    }
    return a;
  }

  private async persist(): Promise<void> {
    const body = JSON.stringify({ version: 1, ranges: Object.fromEntries(this.ranges) }, null, 2);
    const w = this.write.then(() => writeFileAtomic(this.file, body, 0o600));
    this.write = w.catch(() => undefined);
    await w;
  }

  /** The range a container holds, if any. */
  get(containerId: string): UsernsRange | undefined {
    const s = this.ranges.get(containerId);
    return s === undefined ? undefined : { hostId: s, size: USERNS_RANGE_SIZE };
  }

  /** Gives the container a range no other container holds (idempotent per container). */
  async allocate(containerId: string): Promise<UsernsRange> {
    const held = this.get(containerId);
    if (held) return held;
    const used = new Set(this.ranges.values());
    const start = this.candidates.find((c) => !used.has(c));
    if (start === undefined)
      throw new DomainError(
        "unavailable",
        `no free user-namespace range left (${this.candidates.length} in the pool, all in use)`,
      );
    this.ranges.set(containerId, start);
    await this.persist();
    return { hostId: start, size: USERNS_RANGE_SIZE };
  }

  async release(containerId: string): Promise<void> {
    if (!this.ranges.delete(containerId)) return;
    await this.persist();
  }
}

/** A private user namespace mapping ids 0–65535 inside to the container's range outside. */
export const withUserns =
  (r: UsernsRange): SpecOpt =>
  (s) => {
    if (!s.linux.namespaces.some((n) => n.type === "user"))
      s.linux.namespaces.push({ type: "user" });
    s.linux.uidMappings = [{ containerID: 0, hostID: r.hostId, size: r.size }];
    s.linux.gidMappings = [{ containerID: 0, hostID: r.hostId, size: r.size }];
  };

/**
 * Makes a container's directories usable by its mapped root: the rw layer (upper/) is owned by
 * it, so `/` and new files belong to root inside; the lower snapshot stays owned by real root
 * (those files show as nobody:nogroup inside, readable and executable as their modes allow).
 * runc's init resolves the rootfs path as the mapped root, so the directories above it must be
 * searchable (g+x, o+x; not readable): the state dir, containers/ and the container's own dir.
 */
export async function prepareUsernsDirs(
  stateDir: string,
  paths: { dir: string; upper: string },
  r: UsernsRange,
): Promise<void> {
  await chown(paths.upper, r.hostId, r.hostId);
  for (const d of [stateDir, join(stateDir, "containers"), paths.dir])
    await chmod(d, ((await stat(d)).mode & 0o7777) | 0o011);
}

/**
 * The user namespace a container gets: `auto` only when asked for (refused with what needs the
 * host's view: privileged, --pid=host, --ipc=host); unset or `host` = none. Not the default, not
 * even for busybox: see docs/ARCHITECTURE.md for what broke when it was.
 */
export function effectiveUserns(
  spec: Pick<ContainerSpec, "userns" | "security" | "namespaces">,
): "auto" | "host" {
  if (spec.userns !== "auto") return "host";
  const needsHost = spec.security.privileged
    ? "--privileged"
    : spec.namespaces?.pid === "host"
      ? "--pid=host"
      : spec.namespaces?.ipc === "host"
        ? "--ipc=host"
        : undefined;
  if (needsHost)
    throw new DomainError("invalid_input", `--userns=auto cannot be used with ${needsHost}`);
  return "auto";
}
