/**
 * `containers.exec`: relays the agent's `container.exec` stream (stdout/stderr chunks, then the
 * exit code). Subscriptions are not mutations, so the audit middleware does not see them: the
 * exec start is recorded here through the same AuditService, with the target and argv (env
 * values redacted by the audit service), "ok" once the agent accepted the command or "error".
 */
import type { z } from "zod";
import { ContainerExecInputSchema, type CommandResult } from "@berth/core";
import type { ContainerRow } from "@berth/db";
import type { AgentGateway } from "../../agents/gateway";
import type { AuditEntry } from "../audit/audit.service";
import type { Actor } from "./containers.service";

export type ExecChunk = CommandResult<"container.exec">;

export interface ExecDeps {
  resolve(actor: Actor, ref: string): ContainerRow;
  gateway: Pick<AgentGateway, "stream">;
  audit: { record(entry: AuditEntry): void };
}

export async function* containerExec(
  deps: ExecDeps,
  actor: Actor,
  rawInput: z.input<typeof ContainerExecInputSchema>,
  address: string | null,
  signal?: AbortSignal,
): AsyncGenerator<ExecChunk, void, undefined> {
  const input = ContainerExecInputSchema.parse(rawInput);
  const audit = (target: string, result: "ok" | "error", error: string | null) =>
    deps.audit.record({
      actorId: actor.id,
      actorName: actor.username,
      teamId: actor.teamId,
      action: "containers.exec",
      target,
      params: { argv: input.argv, user: input.user, workingDir: input.workingDir, env: input.env },
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
  };
  let audited = false;
  try {
    for await (const chunk of deps.gateway.stream(row.nodeId, "container.exec", params, signal)) {
      if (!audited) {
        audited = true;
        audit(target, "ok", null);
      }
      yield chunk;
    }
  } catch (e) {
    if (!audited) audit(target, "error", e instanceof Error ? e.message : String(e));
    audited = true;
    throw e;
  } finally {
    // Ended (or cancelled) without output: the exec still ran.
    if (!audited) audit(target, "ok", null);
  }
}
