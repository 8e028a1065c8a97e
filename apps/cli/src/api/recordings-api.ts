/** The CLI's calls for terminal session recordings (recordings.*). */
import { AsciicastEventSchema, AsciicastHeaderSchema, type RecordingListInput } from "@berth/core";
import type { TRPCClient } from "@trpc/client";
import type { AppRouter } from "@berth/web/router";
import { z } from "zod";
import { parseAnswer } from "./parse-answer";

export const RecordingRowSchema = z.object({
  id: z.string(),
  teamId: z.string(),
  userId: z.string().nullable(),
  username: z.string().nullable(),
  containerId: z.string(),
  containerName: z.string(),
  nodeId: z.string(),
  argv: z.array(z.string()),
  tty: z.boolean(),
  width: z.number(),
  height: z.number(),
  startedAt: z.number(),
  endedAt: z.number().nullable(),
  exitCode: z.number().nullable(),
  bytes: z.number(),
  truncated: z.boolean(),
});
export type RecordingRow = z.infer<typeof RecordingRowSchema>;

export const RecordingSchema = z.object({
  recording: RecordingRowSchema,
  header: AsciicastHeaderSchema,
  events: z.array(AsciicastEventSchema),
});
export type Recording = z.infer<typeof RecordingSchema>;

export class RecordingsApi {
  constructor(private readonly client: TRPCClient<AppRouter>) {}

  async list(input: RecordingListInput): Promise<RecordingRow[]> {
    return parseAnswer(
      z.array(RecordingRowSchema),
      await this.client.recordings.list.query(input),
      "recordings.list",
    );
  }

  async get(id: string): Promise<Recording> {
    return parseAnswer(
      RecordingSchema,
      await this.client.recordings.get.query({ id }),
      "recordings.get",
    );
  }
}
