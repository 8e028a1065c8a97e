import { z } from "zod";
import {
  CreateContainerInputSchema,
  KillContainerInputSchema,
  PauseContainerInputSchema,
  RenameContainerInputSchema,
  CommitContainerInputSchema,
  RestartContainerInputSchema,
  StartContainerInputSchema,
  ContainerLogsInputSchema,
  ContainerExecInputSchema,
  ExecSessionInputSchema,
  ContainerRefSchema,
  ContainerStatsInputSchema,
  ContainerStatsStreamInputSchema,
  ContainerStatsHistoryInputSchema,
  ContainerEventsInputSchema,
  ListContainersInputSchema,
  RemoveContainerInputSchema,
  RunContainerInputSchema,
  StopContainerInputSchema,
  UpdateContainerInputSchema,
  WaitContainerInputSchema,
} from "@berth/core";
import { procedureWith, router } from "../../trpc";

const read = procedureWith("container.read");
const create = procedureWith("container.create");
const update = procedureWith("container.update");

export const containersRouter = router({
  list: read
    .input(ListContainersInputSchema.optional())
    .query(({ ctx, input }) =>
      ctx.services.containers.list(ctx.actor, ListContainersInputSchema.parse(input ?? {})),
    ),

  get: read
    .input(z.object({ ref: ContainerRefSchema }))
    .query(({ ctx, input }) => ctx.services.containers.get(ctx.actor, input.ref)),

  run: create.input(RunContainerInputSchema).mutation(async ({ ctx, input }) => {
    ctx.audit.target = input.name ?? input.spec.image;
    const view = await ctx.services.containers.run(ctx.actor, input);
    ctx.audit.target = `${view.name} (${view.shortId})`;
    return view;
  }),

  create: create.input(CreateContainerInputSchema).mutation(async ({ ctx, input }) => {
    ctx.audit.target = input.name ?? input.spec.image;
    const view = await ctx.services.containers.create(ctx.actor, input);
    ctx.audit.target = `${view.name} (${view.shortId})`;
    return view;
  }),

  start: update
    .input(StartContainerInputSchema)
    .mutation(({ ctx, input }) => ctx.services.containers.start(ctx.actor, input.ref)),

  kill: update
    .input(KillContainerInputSchema)
    .mutation(({ ctx, input }) => ctx.services.containers.kill(ctx.actor, input.ref, input.signal)),

  restart: update
    .input(RestartContainerInputSchema)
    .mutation(({ ctx, input }) =>
      ctx.services.containers.restart(ctx.actor, input.ref, input.timeoutSeconds),
    ),

  pause: update
    .input(PauseContainerInputSchema)
    .mutation(({ ctx, input }) => ctx.services.containers.pause(ctx.actor, input.ref)),

  unpause: update
    .input(PauseContainerInputSchema)
    .mutation(({ ctx, input }) => ctx.services.containers.unpause(ctx.actor, input.ref)),

  commit: procedureWith("image.build")
    .input(CommitContainerInputSchema)
    .mutation(async ({ ctx, input }) => {
      ctx.audit.target = input.image ? `${input.ref} → ${input.image}` : input.ref;
      return ctx.services.containers.commit(ctx.actor, input);
    }),

  rename: update.input(RenameContainerInputSchema).mutation(async ({ ctx, input }) => {
    ctx.audit.target = input.ref;
    const view = await ctx.services.containers.rename(ctx.actor, input.ref, input.name);
    ctx.audit.target = `${view.name} (${view.shortId})`;
    return view;
  }),

  stop: update
    .input(StopContainerInputSchema)
    .mutation(({ ctx, input }) =>
      ctx.services.containers.stop(ctx.actor, input.ref, input.timeoutSeconds),
    ),

  update: update
    .input(UpdateContainerInputSchema)
    .mutation(({ ctx, input }) =>
      ctx.services.containers.update(ctx.actor, input.ref, input.limits),
    ),

  stats: procedureWith("stats.read")
    .input(ContainerStatsInputSchema)
    .query(({ ctx, input }) => ctx.services.containers.stats(ctx.actor, input.ref)),

  /** The container's last hour of stats (kept by its agent), or only the points after afterMs. */
  statsHistory: procedureWith("stats.read")
    .input(ContainerStatsHistoryInputSchema)
    .query(({ ctx, input }) =>
      ctx.services.statsHistory.container(ctx.actor, input.ref, input.afterMs),
    ),

  remove: procedureWith("container.delete")
    .input(RemoveContainerInputSchema)
    .mutation(({ ctx, input }) =>
      ctx.services.containers.remove(ctx.actor, input.ref, input.force),
    ),

  wait: read
    .input(WaitContainerInputSchema)
    .mutation(({ ctx, input, signal }) =>
      ctx.services.containers.wait(ctx.actor, input.ref, signal),
    ),

  statsStream: procedureWith("stats.read")
    .input(ContainerStatsStreamInputSchema)
    .subscription(async function* ({ ctx, input, signal }) {
      yield* ctx.services.containers.statsStream(ctx.actor, input.refs, signal);
    }),

  events: read.input(ContainerEventsInputSchema).subscription(async function* ({
    ctx,
    input,
    signal,
  }) {
    yield* ctx.services.containers.events(ctx.actor, input, signal);
  }),

  exec: procedureWith("container.exec")
    .input(ContainerExecInputSchema)
    .subscription(async function* ({ ctx, input, signal }) {
      yield* ctx.services.containers.exec(
        ctx.actor,
        input,
        ctx.services.audit,
        ctx.address,
        signal,
      );
    }),

  /**
   * Stdin data / EOF / terminal size for an interactive exec session (the first chunk of
   * `exec` with -i/-t). Not audited when it succeeds: the exec start is audited with its argv,
   * and a row per keystroke batch would flood the trail and store what the user typed
   * (passwords included). Refusals (foreign or ended session, bad input) are still audited.
   */
  execInput: procedureWith("container.exec")
    .meta({ audit: { quietWhenOk: true, omit: ["data"] } })
    .input(ExecSessionInputSchema)
    .mutation(({ ctx, input }) => ctx.services.containers.execInput(ctx.actor, input)),

  logs: procedureWith("logs.read")
    .input(ContainerLogsInputSchema)
    .subscription(async function* ({ ctx, input, signal }) {
      yield* ctx.services.containers.logs(ctx.actor, input, signal);
    }),
});
