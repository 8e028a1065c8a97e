/**
 * `containers.exec`: relays the agent's `container.exec` stream (stdout/stderr chunks, then the
 * exit code). Subscriptions are not mutations, so the audit middleware does not see them: the
 * exec start is recorded here through the same AuditService, with the target and argv (env
 * values redacted by the audit service), "ok" once the agent answered or "error"; its end
 * (`containers.exec.end`: duration, exit code or why it stopped) when the stream finishes.
 *
 * Interactive exec (`-i` and/or `-t`): the output path stays this subscription; its first chunk
 * is `{sessionId}`, a random unguessable id registered in ExecSessions with the caller's actor
 * id, the node and the agent stream's command id. `containers.execInput` (execInput below) sends
 * stdin data, EOF and terminal resizes for that session to the agent as `stream_input` frames.
 * Only the actor who opened the session may use it; any other (or an ended session) gets
 * not_found, so a session id never confirms that someone else's session exists. The session is
 * removed as soon as the stream ends, fails or is cancelled.
 *
 * Recording (modules/recordings, BERTH_RECORD_SESSIONS=1): an interactive session's output and
 * resizes (never its input) go to a recorder opened with the session; its id is in both audit
 * records' params as `recording`, and the recording is closed before the end is audited.
 */
import { randomBytes } from "node:crypto";
import type { z } from "zod";
import {
  ContainerExecInputSchema,
  DomainError,
  ExecSessionInputSchema,
  notFound,
  type CommandResult,
  type ExecSessionInput,
} from "@berth/core";
import type { ContainerRow } from "@berth/db";
import type { AgentGateway } from "../../agents/gateway";
import type { AuditEntry } from "../audit/audit.service";
import type { RecordingStart, SessionRecorder } from "../recordings/recordings.service";
import type { Actor } from "./containers.service";

export type ExecChunk = CommandResult<"container.exec"> & { sessionId?: string };

interface ExecSession {
  actorId: string;
  nodeId: string;
  /** The command id of the agent's `container.exec` stream. */
  streamId: string;
  interactive: boolean;
  tty: boolean;
  /** Set when the session is recorded: resizes are written to it. */
  recorder?: SessionRecorder | undefined;
}

/** The interactive exec sessions of this server process, by session id. */
export class ExecSessions {
  private readonly sessions = new Map<string, ExecSession>();

  open(s: ExecSession): string {
    const id = randomBytes(24).toString("base64url");
    this.sessions.set(id, s);
    return id;
  }

  /** The session if `actorId` opened it; not_found otherwise (foreign, ended or unknown). */
  forActor(id: string, actorId: string): ExecSession {
    const s = this.sessions.get(id);
    if (!s || s.actorId !== actorId) throw notFound("no such exec session (it may have ended)");
    return s;
  }

  close(id: string): void {
    this.sessions.delete(id);
  }

  get size(): number {
    return this.sessions.size;
  }
}

export interface ExecDeps {
  resolve(actor: Actor, ref: string): ContainerRow;
  gateway: Pick<AgentGateway, "stream">;
  audit: { record(entry: AuditEntry): void };
  sessions: ExecSessions;
  /** Records interactive sessions (null from start(): not recorded). */
  recordings?: { start(s: RecordingStart): SessionRecorder | null } | undefined;
}

export async function* containerExec(
  deps: ExecDeps,
  actor: Actor,
  rawInput: z.input<typeof ContainerExecInputSchema>,
  address: string | null,
  signal?: AbortSignal,
): AsyncGenerator<ExecChunk, void, undefined> {
  const input = ContainerExecInputSchema.parse(rawInput);
  const interactive = input.interactive || input.tty;
  let recorder: SessionRecorder | undefined;
  const audit = (target: string, result: "ok" | "error", error: string | null) =>
    deps.audit.record({
      actorId: actor.id,
      actorName: actor.username,
      teamId: actor.teamId,
      action: "containers.exec",
      target,
      params: {
        argv: input.argv,
        user: input.user,
        workingDir: input.workingDir,
        env: input.env,
        ...(input.tty ? { tty: true } : {}),
        ...(input.interactive ? { interactive: true } : {}),
        ...(recorder ? { recording: recorder.id } : {}),
      },
      result,
      error,
      address,
    });
  let row: ContainerRow;
  try {
    row = deps.resolve(actor, input.ref);
  } catch (e) {
    audit(input.ref, "error", e instanceof Error ? e.message : String(e));
    throw e;
  }
  const target = `${row.name} (${row.id.slice(0, 12)})`;
  const params = {
    containerId: row.id,
    argv: input.argv,
    env: input.env,
    detach: input.detach,
    ...(input.user === undefined ? {} : { user: input.user }),
    ...(input.workingDir === undefined ? {} : { workingDir: input.workingDir }),
    ...(input.tty ? { tty: true } : {}),
    ...(input.interactive ? { interactive: true } : {}),
    ...(input.tty && input.size ? { size: input.size } : {}),
  };
  // Our own abort, so leaving this generator always ends the gateway stream (and cancels the
  // agent's) even while a chunk is awaited.
  const ac = new AbortController();
  const onOuterAbort = () => ac.abort();
  signal?.addEventListener("abort", onOuterAbort, { once: true });
  if (signal?.aborted) ac.abort();
  let sessionId: string | undefined;
  const chunks = deps.gateway.stream(row.nodeId, "container.exec", params, ac.signal, {
    onOpen: (streamId) => {
      if (!interactive) return;
      recorder =
        deps.recordings?.start({
          teamId: row.teamId,
          userId: actor.id,
          username: actor.username,
          container: { id: row.id, name: row.name, nodeId: row.nodeId },
          argv: input.argv,
          tty: input.tty,
          size: input.size,
        }) ?? undefined;
      sessionId = deps.sessions.open({
        actorId: actor.id,
        nodeId: row.nodeId,
        streamId,
        interactive: input.interactive,
        tty: input.tty,
        recorder,
      });
    },
  });
  let audited = false;
  const startedAt = Date.now();
  let exitCode: number | undefined;
  let failure: string | null = null;
  try {
    // The first next() sends the command (and registers the session) synchronously.
    let next = chunks.next();
    // Handled here too: if the consumer leaves before awaiting it, a failure is not unhandled.
    next.catch(() => undefined);
    if (sessionId !== undefined) yield { sessionId };
    for (;;) {
      const r = await next;
      if (r.done) break;
      if (!audited) {
        audited = true;
        audit(target, "ok", null);
      }
      if (r.value.exitCode !== undefined) exitCode = r.value.exitCode;
      if (recorder) {
        if (r.value.stdout !== undefined) recorder.output(r.value.stdout);
        if (r.value.stderr !== undefined) recorder.output(r.value.stderr);
      }
      yield r.value;
      next = chunks.next();
      next.catch(() => undefined);
    }
  } catch (e) {
    failure = e instanceof Error ? e.message : String(e);
    if (!audited) audit(target, "error", failure);
    audited = true;
    throw e;
  } finally {
    if (sessionId !== undefined) deps.sessions.close(sessionId);
    signal?.removeEventListener("abort", onOuterAbort);
    ac.abort();
    await chunks.return(undefined).catch(() => undefined);
    // Ended (or cancelled) without output: the exec still ran.
    if (!audited) audit(target, "ok", null);
    await recorder?.finish({ exitCode });
    // The session's end: how long it ran, its exit code, or why it stopped.
    deps.audit.record({
      actorId: actor.id,
      actorName: actor.username,
      teamId: actor.teamId,
      action: "containers.exec.end",
      target,
      params: {
        durationMs: Date.now() - startedAt,
        ...(exitCode === undefined ? { ended: failure ? "failed" : "cancelled" } : { exitCode }),
        ...(input.tty ? { tty: true } : {}),
        ...(input.interactive ? { interactive: true } : {}),
        ...(recorder ? { recording: recorder.id } : {}),
      },
      result: failure ? "error" : "ok",
      error: failure,
      address,
    });
  }
}

export interface ExecInputDeps {
  gateway: Pick<AgentGateway, "streamInput">;
  sessions: ExecSessions;
}

/**
 * `containers.execInput`: forwards stdin data / EOF (sessions opened with -i) and terminal
 * resizes (sessions with -t) to the agent. Deliberately not audited when it succeeds (see
 * containers.router.ts): the exec start is audited, keystrokes are not.
 */
export function execInput(
  deps: ExecInputDeps,
  actor: Actor,
  rawInput: ExecSessionInput,
): { ok: true } {
  const input = ExecSessionInputSchema.parse(rawInput);
  const s = deps.sessions.forActor(input.sessionId, actor.id);
  if ((input.data !== undefined || input.eof) && !s.interactive)
    throw new DomainError("invalid_input", "stdin is not open: start the exec with -i");
  if (input.resize && !s.tty)
    throw new DomainError("invalid_input", "the exec has no terminal to resize: start it with -t");
  deps.gateway.streamInput(s.nodeId, s.streamId, {
    ...(input.resize ? { resize: input.resize } : {}),
    ...(input.data !== undefined ? { data: input.data } : {}),
    ...(input.eof ? { eof: true } : {}),
  });
  if (input.resize) s.recorder?.resize(input.resize);
  return { ok: true };
}
