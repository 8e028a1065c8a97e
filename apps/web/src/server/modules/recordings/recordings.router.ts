/**
 * Terminal session recordings (recordings.service.ts). They hold what a session printed, which
 * may include secrets, so they need `team.manage` (owners; administrators see every team) rather
 * than `audit.read`, which viewers have.
 */
import { RecordingGetInputSchema, RecordingListInputSchema } from "@berth/core";
import { procedureWith, router } from "../../trpc";

export const recordingsRouter = router({
  /** Newest first, optionally for one container or user. */
  list: procedureWith("team.manage")
    .input(RecordingListInputSchema)
    .query(({ ctx, input }) =>
      ctx.services.recordings.list({ isAdmin: ctx.user.isAdmin, teamId: ctx.actor.teamId }, input),
    ),

  /** One recording: its row, the asciicast header and its events (output and resizes); audited. */
  get: procedureWith("team.manage")
    .input(RecordingGetInputSchema)
    .query(({ ctx, input }) =>
      ctx.services.recordings.get(
        {
          isAdmin: ctx.user.isAdmin,
          teamId: ctx.actor.teamId,
          id: ctx.actor.id,
          username: ctx.actor.username,
          address: ctx.address,
        },
        input,
      ),
    ),
});
