/**
 * Terminal session recordings (asciicast v2, https://docs.asciinema.org/manual/asciicast/v2/):
 * the header, the events, and the API's inputs and views. The server writes them when it
 * records sessions (BERTH_RECORD_SESSIONS=1); the dashboard and `berth audit replay` play them.
 */
import { z } from "zod";

/** The first line of an asciicast v2 file. */
export const AsciicastHeaderSchema = z.object({
  version: z.literal(2),
  width: z.number().int().min(1),
  height: z.number().int().min(1),
  /** Unix seconds at the start. */
  timestamp: z.number().int().optional(),
  command: z.string().optional(),
  title: z.string().optional(),
  env: z.record(z.string(), z.string()).optional(),
});
export type AsciicastHeader = z.infer<typeof AsciicastHeaderSchema>;

/**
 * One event line: seconds since the start, the kind ("o" output, "i" input, "r" resize as
 * "COLSxROWS", "m" marker) and its data.
 */
export const AsciicastEventSchema = z.tuple([
  z.number().min(0),
  z.enum(["o", "i", "r", "m"]),
  z.string(),
]);
export type AsciicastEvent = z.infer<typeof AsciicastEventSchema>;

/** Parses an asciicast v2 text; throws on a bad header, skips unreadable event lines. */
export function parseAsciicast(text: string): {
  header: AsciicastHeader;
  events: AsciicastEvent[];
} {
  const lines = text.split("\n");
  const header = AsciicastHeaderSchema.parse(JSON.parse(lines[0] ?? ""));
  const events: AsciicastEvent[] = [];
  for (const line of lines.slice(1)) {
    if (line.trim() === "") continue;
    try {
      const r = AsciicastEventSchema.safeParse(JSON.parse(line));
      if (r.success) events.push(r.data);
    } catch {
      // A line cut by a crash mid-write: the rest of the file is still played.
    }
  }
  return { header, events };
}

export const RecordingListInputSchema = z.object({
  /** A container name or id (prefix). */
  container: z.string().min(1).max(128).optional(),
  /** A username. */
  user: z.string().min(1).max(64).optional(),
  limit: z.number().int().min(1).max(500).default(100),
});
export type RecordingListInput = z.input<typeof RecordingListInputSchema>;

export const RecordingIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{16,64}$/, "a recording id (see `berth audit recordings`)");

export const RecordingGetInputSchema = z.object({ id: RecordingIdSchema });

export interface RecordingView {
  id: string;
  teamId: string;
  userId: string | null;
  username: string | null;
  containerId: string;
  containerName: string;
  nodeId: string;
  argv: string[];
  tty: boolean;
  width: number;
  height: number;
  startedAt: number;
  endedAt: number | null;
  exitCode: number | null;
  bytes: number;
  truncated: boolean;
}
