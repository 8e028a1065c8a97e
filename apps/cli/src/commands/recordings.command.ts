/**
 * `berth audit recordings` and `berth audit replay`: terminal session recordings (the server
 * records interactive exec sessions when started with BERTH_RECORD_SESSIONS=1).
 *
 *   berth audit recordings [--container C] [--user U] [-n N] [--json]
 *   berth audit replay ID [--speed 2] [--max-wait 2] [--raw]
 *
 * `replay` writes the session's output to this terminal with its timing (idle gaps shortened
 * to --max-wait seconds, --speed times faster); `--raw` writes all of it at once (to pipe into
 * a file or `less -R`). Resizes cannot be applied to your terminal: they are skipped.
 */
import { type Command } from "commander";
import type { AsciicastEvent } from "@berth/core";
import type { RecordingRow } from "../api/recordings-api";
import { withApi, type CliContext } from "../context";
import { UsageError } from "../errors";
import { ago, ellipsis, formatTable, humanSize } from "../format/docker-format";
import { type GlobalFlags } from "./global-flags";

export function formatRecordingsTable(rows: RecordingRow[], now: number): string {
  return formatTable(
    ["ID", "STARTED", "DURATION", "USER", "CONTAINER", "COMMAND", "SIZE", "EXIT"],
    rows.map((r) => [
      r.id,
      `${new Date(r.startedAt).toISOString().slice(0, 19)}Z (${ago(r.startedAt, now)})`,
      r.endedAt === null
        ? "running"
        : `${Math.max(0, Math.round((r.endedAt - r.startedAt) / 1000))}s`,
      r.username ?? "-",
      r.containerName,
      ellipsis(r.argv.join(" "), 30),
      `${humanSize(r.bytes)}${r.truncated ? " (truncated)" : ""}`,
      r.exitCode === null ? "-" : String(r.exitCode),
    ]),
  );
}

/**
 * Writes the output events of a recording in order, waiting between them as recorded (divided
 * by `speed`, each wait at most `maxWaitMs`); resizes and markers are skipped.
 */
export async function replayEvents(
  events: AsciicastEvent[],
  write: (data: string) => void,
  opts: { speed: number; maxWaitMs: number; sleep: (ms: number) => Promise<void> },
): Promise<void> {
  let last = 0;
  for (const [time, kind, data] of events) {
    if (kind !== "o") continue;
    const wait = Math.min(((time - last) * 1000) / opts.speed, opts.maxWaitMs);
    last = time;
    if (wait >= 1) await opts.sleep(wait);
    write(data);
  }
}

function positiveNumber(flag: string, raw: string): number {
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0)
    throw new UsageError(`invalid ${flag} ${JSON.stringify(raw)}`, "a number greater than 0");
  return n;
}

/** Adds `recordings` and `replay` under `berth audit`. */
export function registerRecordingCommands(
  audit: Command,
  ctx: CliContext,
  globals: () => GlobalFlags,
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
): void {
  audit
    .command("recordings")
    .description("List recorded terminal sessions, newest first (owners and admins)")
    .usage("[OPTIONS]")
    .option("--container <name>", "only sessions in this container (name or id prefix)")
    .option("--user <user>", "only sessions of this user")
    .option("-n, --last <n>", "at most this many", "50")
    .option("--json", "print a JSON array")
    .action(async (flags: { container?: string; user?: string; last: string; json?: boolean }) => {
      const limit = Number(flags.last);
      if (!Number.isInteger(limit) || limit < 1 || limit > 500)
        throw new UsageError(
          `invalid --last ${JSON.stringify(flags.last)}`,
          "a whole number 1–500",
        );
      const rows = await withApi(ctx, globals(), {}, (api) =>
        api.recordings.list({
          limit,
          ...(flags.container ? { container: flags.container } : {}),
          ...(flags.user ? { user: flags.user } : {}),
        }),
      );
      if (flags.json) ctx.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
      else if (rows.length === 0)
        ctx.stderr.write(
          "no recordings (the server records terminal sessions when started with BERTH_RECORD_SESSIONS=1)\n",
        );
      else ctx.stdout.write(`${formatRecordingsTable(rows, ctx.now())}\n`);
    });

  audit
    .command("replay")
    .description("Play a recorded terminal session's output with its timing")
    .usage("ID [OPTIONS]")
    .argument("<id>", "the recording's id (berth audit recordings)")
    .option("--speed <x>", "play this many times faster", "1")
    .option("--max-wait <seconds>", "shorten idle gaps to at most this", "2")
    .option("--raw", "write all the output at once, without timing")
    .action(async (id: string, flags: { speed: string; maxWait: string; raw?: boolean }) => {
      const speed = positiveNumber("--speed", flags.speed);
      const maxWaitMs = positiveNumber("--max-wait", flags.maxWait) * 1000;
      const rec = await withApi(ctx, globals(), {}, (api) => api.recordings.get(id));
      const write = (d: string) => ctx.stdout.write(d);
      if (flags.raw) {
        for (const [, kind, data] of rec.events) if (kind === "o") write(data);
        return;
      }
      ctx.stderr.write(
        `replaying ${rec.recording.username ?? "?"}@${rec.recording.containerName}: ${rec.recording.argv.join(" ")} (${rec.header.width}x${rec.header.height})\n`,
      );
      await replayEvents(rec.events, write, { speed, maxWaitMs, sleep });
      ctx.stderr.write(
        `\n[end of recording${rec.recording.truncated ? ", truncated at the server's cap" : ""}]\n`,
      );
    });
}
