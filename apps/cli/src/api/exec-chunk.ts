/**
 * One chunk of `containers.exec`: output text, or the exit code (last); with -i/-t the first
 * chunk is the session id for `containers.execInput`.
 */
import { z } from "zod";

export const ExecChunkSchema = z.object({
  sessionId: z.string().optional(),
  stdout: z.string().optional(),
  stderr: z.string().optional(),
  exitCode: z.number().int().min(0).max(255).optional(),
});
export type ExecChunk = z.infer<typeof ExecChunkSchema>;
