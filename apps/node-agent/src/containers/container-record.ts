/**
 * A container's on-disk record, `<stateDir>/containers/<id>/state.json`, and its layout:
 *   state.json  bundle/config.json  upper/  work/  rootfs/ (overlay mount)  ctr.log  oom
 * Exit files (conmon) live in `<stateDir>/exits/<id>`, attach sockets in `<stateDir>/sockets`.
 */
import { join } from "node:path";
import {
  ContainerIdSchema,
  ContainerNetworkSchema,
  ContainerSpecSchema,
  ContainerStateSchema,
  HealthSchema,
  HealthcheckSchema,
  type ContainerStatus,
} from "@berth/core";
import { z } from "zod";

export const ContainerRecordSchema = z.object({
  version: z.literal(1),
  id: ContainerIdSchema,
  name: z.string(),
  spec: ContainerSpecSchema,
  autoRemove: z.boolean(),
  imageDigest: z.string(),
  state: ContainerStateSchema,
  pid: z.number().int().nullable(),
  conmonPid: z.number().int().nullable(),
  exitCode: z.number().int().nullable(),
  oomKilled: z.boolean(),
  error: z.string().nullable(),
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  /** Restarts done under the restart policy (docker's RestartCount). */
  restartCount: z.number().int().nonnegative().default(0),
  /** Set by a user stop: no restart policy restarts it (unless-stopped stays stopped). */
  userStopped: z.boolean().default(false),
  /** The healthcheck's state while it runs (health-check.ts); null without one. */
  health: HealthSchema.nullable().default(null),
  /** Made by `container.create`: waits in `created` (runc init) until `container.start`. */
  createOnly: z.boolean().default(false),
  /** The image's StopSignal, normalized (`SIGQUIT`); null means SIGTERM. */
  stopSignal: z.string().nullable().default(null),
  /**
   * The healthcheck it runs, resolved at create: the spec's, else the image's HEALTHCHECK; null
   * for none (or NONE). Absent in records written before image healthchecks: the spec's applies.
   */
  healthcheck: HealthcheckSchema.nullable().optional(),
  /** Its network as last wired (mode, interfaces, published ports); absent without networking. */
  network: ContainerNetworkSchema.optional(),
});
export type ContainerRecord = z.infer<typeof ContainerRecordSchema>;

export interface ContainerPaths {
  dir: string;
  stateFile: string;
  bundle: string;
  config: string;
  upper: string;
  work: string;
  rootfs: string;
  log: string;
  pidFile: string;
  conmonPidFile: string;
  exitFile: string;
}

export function containerPaths(stateDir: string, id: string): ContainerPaths {
  const dir = join(stateDir, "containers", id);
  return {
    dir,
    stateFile: join(dir, "state.json"),
    bundle: join(dir, "bundle"),
    config: join(dir, "bundle", "config.json"),
    upper: join(dir, "upper"),
    work: join(dir, "work"),
    rootfs: join(dir, "rootfs"),
    log: join(dir, "ctr.log"),
    pidFile: join(dir, "pidfile"),
    conmonPidFile: join(dir, "conmon.pid"),
    exitFile: join(stateDir, "exits", id),
  };
}

export function toStatus(r: ContainerRecord): ContainerStatus {
  return {
    id: r.id,
    name: r.name,
    state: r.state,
    pid:
      r.state === "running" ||
      r.state === "paused" ||
      r.state === "stopping" ||
      r.state === "created"
        ? r.pid
        : null,
    exitCode: r.exitCode,
    oomKilled: r.oomKilled,
    error: r.error,
    createdAt: r.createdAt,
    startedAt: r.startedAt,
    finishedAt: r.finishedAt,
    restartCount: r.restartCount,
    health: r.health,
    ...(r.network ? { network: r.network } : {}),
  };
}
