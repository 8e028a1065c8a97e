/** One chunk of `containers.exec`: output text, or the exit code (last). */
import { z } from "zod";

export const ExecChunkSchema = z.object({
  stdout: z.string().optional(),
  stderr: z.string().optional(),
  exitCode: z.number().int().min(0).max(255).optional(),
});
export type ExecChunk = z.infer<typeof ExecChunkSchema>;
