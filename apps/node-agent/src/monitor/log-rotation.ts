/**
 * Log rotation owned by the agent (docker json-file's `max-size` / `max-file`), lossless.
 *
 * conmon writes one k8s-file log, `ctr.log`, opened O_APPEND and never swapped (the agent does
 * not give it `--log-size-max`: conmon's own swap unlinks the old file, and a linker racing it
 * loses whole generations under a fast writer; see docs/ARCHITECTURE.md "Log rotation").
 * A byte's offset in `ctr.log` is therefore its position in the container's whole output, for
 * ever (also across restarts: a new conmon appends). The agent rotates without touching the
 * writer:
 *
 *   1. when the live part of `ctr.log` (from `liveStart` to EOF) reaches `maxSize`, it cuts it
 *      at record boundaries ('\n') into chunks of at most `maxSize` bytes and copies the newest
 *      `maxFile - 1` of them to sealed generations `ctr.log.<start offset>` (tmp, fsync, rename);
 *   2. it records the new `liveStart` in `log-rotation.json` (atomic write);
 *   3. it punches a hole over `[0, liveStart)` of `ctr.log` (fallocate, keep size), which frees
 *      the disk blocks while conmon keeps appending at EOF (the kernel serializes both on the
 *      inode), and deletes generations beyond `maxFile - 1`.
 *
 * Nothing conmon writes is ever dropped before it is in a generation, so a line is lost only by
 * being rotated out. Readers in this process (k8s-log.ts) take a snapshot (generations + live
 * start) and a `hold` on the live file: the hole is never punched past a reader's position, so
 * a follower reads `ctr.log` by offset straight through any number of rotations.
 * A crash between steps is repaired at `open`: generations at or past the recorded `liveStart`
 * are deleted (their bytes are still live) and are cut again.
 */
import { open, readdir, readFile, rename, rm, stat, type FileHandle } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { z } from "zod";
import type { LogConfig } from "@berth/core";
import { run } from "../sys/exec";
import { isErrno, writeFileAtomic } from "../sys/fs";

/** A sealed generation: the bytes `[start, end)` of the container's output, in `path`. */
export interface Generation {
  path: string;
  start: number;
  end: number;
}

/** What a reader needs: the sealed generations, oldest first, then the live file from liveStart. */
export interface LogSnapshot {
  livePath: string;
  liveStart: number;
  generations: Generation[];
}

/** A reader's promise that it may still read the live file at or after `pos`. */
export interface LiveHold {
  pos: number;
  release(): void;
}

export interface LogSource {
  snapshot(): LogSnapshot;
  /** Registers a reader at `pos` (synchronously, before any await of the reader). */
  hold(pos: number): LiveHold;
}

/** A log that is never rotated: only the live file, from offset 0. */
export function plainLogSource(path: string): LogSource {
  return {
    snapshot: () => ({ livePath: path, liveStart: 0, generations: [] }),
    hold: (pos) => ({ pos, release: () => undefined }),
  };
}

const StateSchema = z.object({
  version: z.literal(1),
  liveStart: z.number().int().min(0),
});

export interface RotatingLogOptions {
  /** How often the live file's size is checked (default 500 ms). */
  pollMs?: number;
  warn?: (msg: string, extra?: Record<string, unknown>) => void;
  fallocatePath?: string;
}

const BLOCK = 4096;
const SCAN = 64 * 1024;
const COPY = 1024 * 1024;

/** The rotation state file beside the log. */
export function rotationStatePath(logPath: string): string {
  return join(dirname(logPath), "log-rotation.json");
}

/**
 * One container's log: its generations, the rotation that makes them, and the holds of its
 * readers. Without `maxSize` it never rotates (and still serves readers).
 */
export class RotatingLog implements LogSource {
  private generations: Generation[] = [];
  private liveStart = 0;
  /** `[0, punchedTo)` of the live file is known to be a hole already. */
  private punchedTo = 0;
  private readonly holds = new Set<LiveHold>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | null = null;
  private again = false;
  private closed = false;
  private punchWarned = false;
  private readonly warn: NonNullable<RotatingLogOptions["warn"]>;

  private constructor(
    readonly path: string,
    readonly config: LogConfig | undefined,
    private readonly opts: RotatingLogOptions,
  ) {
    this.warn = opts.warn ?? (() => undefined);
  }

  /** Loads the rotation state and generations on disk, repairing what a crash left. */
  static async open(
    path: string,
    config: LogConfig | undefined,
    opts: RotatingLogOptions = {},
  ): Promise<RotatingLog> {
    const log = new RotatingLog(path, config, opts);
    await log.load();
    return log;
  }

  /** The largest number of files kept (live file included). */
  get maxFile(): number {
    return this.config?.maxFile ?? 1;
  }

  get rotates(): boolean {
    return this.config?.maxSize !== undefined;
  }

  snapshot(): LogSnapshot {
    return {
      livePath: this.path,
      liveStart: this.liveStart,
      generations: this.generations.map((g) => ({ ...g })),
    };
  }

  hold(pos: number): LiveHold {
    const h: LiveHold = {
      pos,
      release: () => {
        this.holds.delete(h);
      },
    };
    this.holds.add(h);
    return h;
  }

  /** Checks the live file every pollMs and rotates when it is due (no-op without maxSize). */
  start(): void {
    if (!this.rotates || this.closed || this.timer) return;
    this.timer = setInterval(() => void this.rotate(), this.opts.pollMs ?? 500);
    this.timer.unref();
    void this.rotate();
  }

  /** Stops the timer and waits for a pass in progress. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
  }

  /** One rotation pass now (joined with one in progress); failures are logged, not thrown. */
  rotate(): Promise<void> {
    if (!this.rotates || this.closed) return Promise.resolve();
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        try {
          await this.pass();
        } catch (e) {
          this.warn("log rotation failed; retrying at the next check", {
            log: this.path,
            error: (e as Error).message,
          });
        }
      } while (this.again && !this.closed);
    })().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  // ---------------------------------------------------------------- internals

  private get statePath(): string {
    return rotationStatePath(this.path);
  }

  private async load(): Promise<void> {
    let recorded: number | null = null;
    try {
      const parsed = StateSchema.safeParse(JSON.parse(await readFile(this.statePath, "utf8")));
      if (parsed.success) recorded = parsed.data.liveStart;
      else this.warn("ignoring an invalid log-rotation.json", { log: this.path });
    } catch (e) {
      if (!isErrno(e, "ENOENT"))
        this.warn("ignoring an unreadable log-rotation.json", {
          log: this.path,
          error: (e as Error).message,
        });
    }
    const dir = dirname(this.path);
    const base = basename(this.path);
    const pattern = new RegExp(`^${base.replace(/\./g, "\\.")}\\.(\\d+)$`);
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (e) {
      if (isErrno(e, "ENOENT")) return;
      throw e;
    }
    const found: Generation[] = [];
    for (const n of names) {
      if (n.startsWith(`.${base}.`) && n.endsWith(".tmp")) {
        await rm(join(dir, n), { force: true }); // a copy a crash interrupted
        continue;
      }
      const m = pattern.exec(n);
      if (!m) continue;
      const start = Number(m[1]);
      const size = (await stat(join(dir, n))).size;
      found.push({ path: join(dir, n), start, end: start + size });
    }
    found.sort((a, b) => a.start - b.start);
    // Without a state file, the newest generation's end is where the live part begins.
    const liveStart = recorded ?? found.at(-1)?.end ?? 0;
    // Keep the contiguous run of generations that ends exactly at liveStart; anything else is
    // a leftover of a crash (its bytes are still live) or unreachable.
    const keep: Generation[] = [];
    let next = liveStart;
    for (let i = found.length - 1; i >= 0; i--) {
      const g = found[i]!;
      if (g.end === next && g.start < g.end) {
        keep.unshift(g);
        next = g.start;
      } else await rm(g.path, { force: true });
    }
    this.generations = keep;
    this.liveStart = liveStart;
  }

  private async pass(): Promise<void> {
    const maxSize = this.config?.maxSize;
    if (maxSize === undefined) return;
    let fh: FileHandle;
    try {
      fh = await open(this.path, "r");
    } catch (e) {
      if (isErrno(e, "ENOENT")) return; // conmon has not created it yet
      throw e;
    }
    try {
      const size = (await fh.stat()).size;
      if (size < this.liveStart) {
        // Not conmon's append-only file any more (replaced by hand?): start over from it.
        this.warn("the log shrank below its rotation point; starting over", { log: this.path });
        await this.commit([], 0, 0, true);
        this.punchedTo = 0;
        return;
      }
      if (size - this.liveStart >= maxSize) await this.cut(fh, size, maxSize);
      await this.punch();
    } finally {
      await fh.close();
    }
  }

  /** Cuts the live part into generations (step 1), then commits them (steps 2–3). */
  private async cut(fh: FileHandle, size: number, maxSize: number): Promise<void> {
    const keepGens = this.maxFile - 1;
    let b = this.liveStart;
    // Far behind (agent was down): what would be rotated out anyway is never copied.
    const span = (keepGens + 1) * maxSize;
    let skipped = false;
    if (size - b > 2 * span) {
      const j = await nextRecordStart(fh, size - span, size);
      if (j !== null) {
        b = j;
        skipped = true;
      }
    }
    const bounds = [b];
    while (size - b >= maxSize) {
      const c =
        (await lastRecordStartIn(fh, b, b + maxSize)) ??
        (await nextRecordStart(fh, b + maxSize, size));
      if (c === null || c <= b) break; // an unfinished record: wait for its newline
      bounds.push(c);
      b = c;
    }
    if (bounds.length < 2 && !skipped) return;
    const newLiveStart = bounds.at(-1)!;
    const made: Generation[] = [];
    const first = Math.max(0, bounds.length - 1 - keepGens);
    for (let i = first; i < bounds.length - 1; i++)
      made.push(await this.copyOut(fh, bounds[i]!, bounds[i + 1]!));
    // After a skip the older generations are no longer contiguous with the new ones.
    await this.commit(made, newLiveStart, keepGens, skipped);
  }

  /** Copies `[start, end)` of the live file to the generation `<log>.<start>`. */
  private async copyOut(fh: FileHandle, start: number, end: number): Promise<Generation> {
    const dir = dirname(this.path);
    const base = basename(this.path);
    const path = join(dir, `${base}.${start}`);
    const tmp = join(dir, `.${base}.${start}.tmp`);
    const out = await open(tmp, "w", 0o600);
    try {
      const buf = Buffer.alloc(Math.min(COPY, end - start));
      for (let pos = start; pos < end;) {
        const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, end - pos), pos);
        if (bytesRead === 0) throw new Error(`the log ended at ${pos} while copying to ${end}`);
        await out.write(buf, 0, bytesRead);
        pos += bytesRead;
      }
      await out.sync();
    } catch (e) {
      await out.close().catch(() => undefined);
      await rm(tmp, { force: true });
      throw e;
    }
    await out.close();
    await rename(tmp, path);
    return { path, start, end };
  }

  /**
   * Records the new live start, then drops generations beyond `keepGens` (steps 2–3), or all
   * the older ones with `dropOld`.
   */
  private async commit(
    made: Generation[],
    liveStart: number,
    keepGens: number,
    dropOld = false,
  ): Promise<void> {
    await writeFileAtomic(this.statePath, JSON.stringify({ version: 1, liveStart }), 0o600);
    // In memory in one synchronous step: readers arriving from now on see the new state.
    const old = dropOld ? this.generations.splice(0) : [];
    const all = [...this.generations, ...made];
    const drop = all.length > keepGens ? all.splice(0, all.length - keepGens) : [];
    this.generations = all;
    this.liveStart = liveStart;
    await Promise.all([...old, ...drop].map((g) => rm(g.path, { force: true })));
  }

  /** Frees the blocks below the live start that no reader still needs. */
  private async punch(): Promise<void> {
    let target = this.liveStart;
    for (const h of this.holds) target = Math.min(target, h.pos);
    const to = target - (target % BLOCK);
    if (to <= this.punchedTo) return;
    const from = this.punchedTo;
    try {
      await run([
        this.opts.fallocatePath ?? "fallocate",
        "--punch-hole",
        "--offset",
        String(from),
        "--length",
        String(to - from),
        this.path,
      ]);
      this.punchedTo = to;
    } catch (e) {
      if (!this.punchWarned)
        this.warn("cannot punch the rotated part out of the log: its disk space is not freed", {
          log: this.path,
          error: (e as Error).message,
        });
      this.punchWarned = true;
    }
  }
}

/** Position just after the last '\n' in `[from, to)`, or null when there is none. */
export async function lastRecordStartIn(
  fh: FileHandle,
  from: number,
  to: number,
): Promise<number | null> {
  const buf = Buffer.alloc(SCAN);
  for (let end = to; end > from;) {
    const len = Math.min(SCAN, end - from);
    const pos = end - len;
    const { bytesRead } = await fh.read(buf, 0, len, pos);
    const i = buf.subarray(0, bytesRead).lastIndexOf(0x0a);
    if (i >= 0) return pos + i + 1;
    end = pos;
  }
  return null;
}

/** Position just after the first '\n' at or after `from` (before `to`), or null. */
export async function nextRecordStart(
  fh: FileHandle,
  from: number,
  to: number,
): Promise<number | null> {
  const buf = Buffer.alloc(SCAN);
  for (let pos = from; pos < to;) {
    const { bytesRead } = await fh.read(buf, 0, Math.min(SCAN, to - pos), pos);
    if (bytesRead === 0) return null;
    const i = buf.subarray(0, bytesRead).indexOf(0x0a);
    if (i >= 0) return pos + i + 1;
    pos += bytesRead;
  }
  return null;
}
