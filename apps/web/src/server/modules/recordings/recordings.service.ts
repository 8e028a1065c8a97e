/**
 * Terminal session recordings: when enabled (BERTH_RECORD_SESSIONS=1), every interactive exec
 * session (the dashboard's terminal, `berth exec -it`) writes its output and resizes — never its
 * input — to `<dir>/<id>.cast` (asciicast v2, capped; asciicast-writer.ts), with a
 * `session_recordings` row (session id, container, user, team, start/end, bytes). The id is put
 * in the session's audit records (`recording` in the params of `containers.exec` and
 * `containers.exec.end`). Administrators list and replay every team's recordings, others (with
 * team.manage, i.e. owners) their acting team's; every replay is audited
 * (`recordings.replay`, a query the audit middleware would not see). Rows and files older than
 * the retention are removed at start and hourly.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, readdirSync, rmSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import {
  DomainError,
  notFound,
  parseAsciicast,
  RecordingGetInputSchema,
  RecordingListInputSchema,
  type AsciicastEvent,
  type AsciicastHeader,
  type RecordingListInput,
  type RecordingView,
  type TerminalSize,
} from "@berth/core";
import {
  and,
  desc,
  eq,
  like,
  lt,
  or,
  sessionRecordings,
  type Db,
  type SessionRecordingRow,
} from "@berth/db";
import type { AuditEntry } from "../audit/audit.service";
import { AsciicastWriter } from "./asciicast-writer";

export interface RecordingsOptions {
  /** Record interactive sessions at all (BERTH_RECORD_SESSIONS). */
  enabled: boolean;
  /** Where the .cast files go (server.ts: `<data>/recordings`). */
  dir: string;
  /** Output bytes kept per session (BERTH_RECORDING_MAX_BYTES). */
  maxBytes?: number;
  /** Recordings older than this are removed (BERTH_RECORDING_RETENTION_DAYS). */
  retentionDays?: number;
  now?: () => number;
  logError?: (message: string) => void;
  /** Where replays are audited (services.ts: the AuditService). */
  audit?: { record(entry: AuditEntry): void };
}

export const DEFAULT_RECORDING_MAX_BYTES = 8 * 1024 * 1024;
export const DEFAULT_RECORDING_RETENTION_DAYS = 90;
const PRUNE_EVERY_MS = 3_600_000;

/** Who asks: an administrator (every team), or a member acting in one team. */
export interface RecordingReader {
  isAdmin: boolean;
  teamId: string;
}

/** Who replays a recording, for its audit record. */
export interface RecordingViewer extends RecordingReader {
  id: string;
  username: string;
  address: string | null;
}

export interface RecordingStart {
  teamId: string;
  userId: string;
  username: string;
  container: { id: string; name: string; nodeId: string };
  argv: string[];
  tty: boolean;
  size?: TerminalSize | undefined;
}

/** One session being recorded; `finish` is called once when the session ends. */
export interface SessionRecorder {
  readonly id: string;
  output(data: string): void;
  resize(size: TerminalSize): void;
  finish(end: { exitCode?: number | undefined }): Promise<void>;
}

export interface Recording {
  recording: RecordingView;
  header: AsciicastHeader;
  events: AsciicastEvent[];
}

function view(r: SessionRecordingRow): RecordingView {
  return {
    id: r.id,
    teamId: r.teamId,
    userId: r.userId,
    username: r.username,
    containerId: r.containerId,
    containerName: r.containerName,
    nodeId: r.nodeId,
    argv: r.argv,
    tty: r.tty,
    width: r.width,
    height: r.height,
    startedAt: r.startedAt.getTime(),
    endedAt: r.endedAt ? r.endedAt.getTime() : null,
    exitCode: r.exitCode,
    bytes: r.bytes,
    truncated: r.truncated,
  };
}

export class RecordingsService {
  readonly enabled: boolean;
  private readonly dir: string;
  private readonly maxBytes: number;
  private readonly retentionMs: number;
  private readonly now: () => number;
  private readonly logError: (message: string) => void;
  private readonly pruner: NodeJS.Timeout | null = null;
  private readonly audit: RecordingsOptions["audit"];
  /** Sessions being recorded: closed (file flushed, row ended) by close() at server stop. */
  private readonly live = new Map<string, SessionRecorder>();

  constructor(
    private readonly db: Db,
    opts: RecordingsOptions,
  ) {
    this.enabled = opts.enabled;
    this.dir = opts.dir;
    this.maxBytes = opts.maxBytes ?? DEFAULT_RECORDING_MAX_BYTES;
    this.retentionMs = (opts.retentionDays ?? DEFAULT_RECORDING_RETENTION_DAYS) * 86_400_000;
    this.now = opts.now ?? Date.now;
    this.logError = opts.logError ?? ((m) => console.error(`berth-server: ${m}`));
    this.audit = opts.audit;
    if (this.enabled) {
      this.pruner = setInterval(() => this.pruneQuietly(), PRUNE_EVERY_MS);
      this.pruner.unref();
      this.pruneQuietly();
    }
  }

  /**
   * Stops the retention timer and ends every recording still open (the server is stopping: its
   * sessions end with it), so each file is flushed and closed and each row has its end.
   */
  async close(): Promise<void> {
    if (this.pruner) clearInterval(this.pruner);
    await Promise.all([...this.live.values()].map((r) => r.finish({})));
  }

  /** How many sessions are being recorded now. */
  get recording(): number {
    return this.live.size;
  }

  private file(id: string): string {
    return join(this.dir, `${id}.cast`);
  }

  /** Starts recording a session; null when recording is off or the file cannot be made. */
  start(s: RecordingStart): SessionRecorder | null {
    if (!this.enabled) return null;
    const id = randomBytes(16).toString("base64url");
    const size = s.size ?? { cols: 80, rows: 24 };
    const startedAt = this.now();
    let writer: AsciicastWriter;
    try {
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      writer = new AsciicastWriter(
        this.file(id),
        {
          version: 2,
          width: size.cols,
          height: size.rows,
          timestamp: Math.floor(startedAt / 1000),
          command: s.argv.join(" ").slice(0, 1024),
          title: `${s.username}@${s.container.name}`,
          env: { TERM: "xterm-256color" },
        },
        { maxBytes: this.maxBytes },
      );
    } catch (e) {
      this.logError(`session recording not started: ${(e as Error).message}`);
      return null;
    }
    try {
      this.db
        .insert(sessionRecordings)
        .values({
          id,
          teamId: s.teamId,
          userId: s.userId,
          username: s.username,
          containerId: s.container.id,
          containerName: s.container.name,
          nodeId: s.container.nodeId,
          argv: s.argv,
          tty: s.tty,
          width: size.cols,
          height: size.rows,
          startedAt: new Date(startedAt),
        })
        .run();
    } catch (e) {
      // No row, no recording: the file is closed and removed rather than left open.
      this.logError(`session recording not started: ${(e as Error).message}`);
      void writer
        .close()
        .catch(() => undefined)
        .then(() => rmSync(this.file(id), { force: true }));
      return null;
    }
    let finished: Promise<void> | null = null;
    const recorder: SessionRecorder = {
      id,
      output: (data) => writer.output(data),
      resize: (r) => writer.resize(r.cols, r.rows),
      finish: (end) =>
        (finished ??= writer
          .close()
          .catch((e: unknown) => {
            this.logError(`session recording ${id}: ${(e as Error).message}`);
            return writer.totals;
          })
          .then((t) => {
            this.db
              .update(sessionRecordings)
              .set({
                endedAt: new Date(this.now()),
                exitCode: end.exitCode ?? null,
                bytes: t.bytes,
                truncated: t.truncated,
              })
              .where(eq(sessionRecordings.id, id))
              .run();
          })
          .finally(() => this.live.delete(id))),
    };
    this.live.set(id, recorder);
    return recorder;
  }

  /** Newest first; administrators see every team, others their acting team. */
  list(reader: RecordingReader, raw: RecordingListInput = {}): RecordingView[] {
    const input = RecordingListInputSchema.parse(raw);
    const conds = [];
    if (!reader.isAdmin) conds.push(eq(sessionRecordings.teamId, reader.teamId));
    if (input.user) conds.push(eq(sessionRecordings.username, input.user));
    if (input.container) {
      const c = input.container;
      conds.push(
        /^[0-9a-f]{3,}$/.test(c)
          ? or(
              eq(sessionRecordings.containerName, c),
              like(sessionRecordings.containerId, `${c}%`),
            )!
          : eq(sessionRecordings.containerName, c),
      );
    }
    return this.db
      .select()
      .from(sessionRecordings)
      .where(conds.length ? and(...conds) : undefined)
      .orderBy(desc(sessionRecordings.startedAt))
      .limit(input.limit)
      .all()
      .map(view);
  }

  /**
   * A recording with its events; not_found for another team's (it never confirms one exists).
   * Audited as `recordings.replay` (ok, or error with the reason).
   */
  async get(viewer: RecordingViewer, raw: { id: string }): Promise<Recording> {
    const { id } = RecordingGetInputSchema.parse(raw);
    try {
      const rec = await this.read(viewer, id);
      this.auditReplay(
        viewer,
        id,
        `${rec.recording.containerName} (${rec.recording.containerId.slice(0, 12)})`,
        null,
      );
      return rec;
    } catch (e) {
      this.auditReplay(viewer, id, null, e instanceof Error ? e.message : String(e));
      throw e;
    }
  }

  private auditReplay(v: RecordingViewer, id: string, target: string | null, error: string | null) {
    this.audit?.record({
      actorId: v.id,
      actorName: v.username,
      teamId: v.teamId,
      action: "recordings.replay",
      target: target ?? id,
      params: { recording: id },
      result: error ? "error" : "ok",
      error,
      address: v.address,
    });
  }

  private async read(reader: RecordingReader, id: string): Promise<Recording> {
    const row = this.db.select().from(sessionRecordings).where(eq(sessionRecordings.id, id)).get();
    if (!row || (!reader.isAdmin && row.teamId !== reader.teamId))
      throw notFound(`no recording ${id} (see \`berth audit recordings\`)`);
    let text: string;
    try {
      text = await readFile(this.file(id), "utf8");
    } catch {
      throw new DomainError("not_found", `the file of recording ${id} is gone (retention)`);
    }
    const { header, events } = parseAsciicast(text);
    return { recording: view(row), header, events };
  }

  /** Removes recordings (rows and files) that started before the retention; returns how many. */
  prune(): number {
    const cutoff = new Date(this.now() - this.retentionMs);
    const old = this.db
      .select({ id: sessionRecordings.id })
      .from(sessionRecordings)
      .where(lt(sessionRecordings.startedAt, cutoff))
      .all();
    for (const { id } of old) {
      rmSync(this.file(id), { force: true });
      this.db.delete(sessionRecordings).where(eq(sessionRecordings.id, id)).run();
    }
    // Files without a row (a crash between file and row, or a removed row).
    let names: string[] = [];
    try {
      names = readdirSync(this.dir);
    } catch {
      return old.length;
    }
    const known = new Set(
      this.db
        .select({ id: sessionRecordings.id })
        .from(sessionRecordings)
        .all()
        .map((r) => `${r.id}.cast`),
    );
    for (const n of names)
      if (n.endsWith(".cast") && !known.has(n)) rmSync(join(this.dir, n), { force: true });
    return old.length;
  }

  private pruneQuietly(): void {
    try {
      this.prune();
    } catch (e) {
      this.logError(`recording retention: ${(e as Error).message}`);
    }
  }
}
