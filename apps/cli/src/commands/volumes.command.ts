/** `berth volume create|ls|rm|inspect`: named volumes on the nodes, docker's way. */
import { type Command } from "commander";
import type { VolumeView } from "../api/volume-views";
import { withApi, type CliContext } from "../context";
import { formatTable } from "../format/docker-format";
import { eachRef, inspectEach } from "./each-ref";
import { type GlobalFlags, withTeamFlag } from "./global-flags";

export const VOLUME_COLUMNS = ["NODE", "DRIVER", "VOLUME NAME"];

export function volumeRows(volumes: VolumeView[]): string[][] {
  return volumes.map((v) => [v.nodeName, "local", v.name]);
}

/** docker volume inspect's shape, plus the node. */
export function volumeInspectView(v: VolumeView): Record<string, unknown> {
  return {
    CreatedAt: new Date(v.createdAt).toISOString(),
    Driver: "local",
    Labels: {},
    Mountpoint: v.mountpoint,
    Name: v.name,
    Options: {},
    Scope: "local",
    Node: v.nodeName,
  };
}

export function registerVolumeCommands(
  program: Command,
  ctx: CliContext,
  globals: () => GlobalFlags,
): void {
  const volume = program.command("volume").description("Manage named volumes on the nodes");

  volume
    .command("create")
    .description("Create a volume (on --node, or the only online node)")
    .argument("<name>", "volume name")
    .option("--node <node>", "the node to create it on (id or name)")
    .option("--team <team>", "the team that owns it (default: the team you act in)")
    .action(async (name: string, flags: { node?: string; team?: string }) => {
      const v = await withApi(ctx, withTeamFlag(globals(), flags), {}, (api) =>
        api.createVolume({ name, node: flags.node }),
      );
      ctx.stdout.write(`${v.name}\n`);
    });

  volume
    .command("ls")
    .alias("list")
    .description("List volumes on the online nodes")
    .option("--node <node>", "only this node (id or name)")
    .option("-q, --quiet", "only display volume names")
    .option("--json", "print JSON")
    .action(async (flags: { node?: string; quiet?: boolean; json?: boolean }) => {
      const volumes = await withApi(ctx, globals(), {}, (api) =>
        api.listVolumes(flags.node ? { node: flags.node } : {}),
      );
      if (flags.json) ctx.stdout.write(`${JSON.stringify(volumes, null, 2)}\n`);
      else if (flags.quiet) ctx.stdout.write(volumes.map((v) => `${v.name}\n`).join(""));
      else ctx.stdout.write(`${formatTable(VOLUME_COLUMNS, volumeRows(volumes))}\n`);
    });

  volume
    .command("inspect")
    .description("Display detailed information on one or more volumes (JSON)")
    .argument("<names...>", "volume names")
    .option("--node <node>", "the node that holds them (id or name)")
    .action(async (names: string[], flags: { node?: string }) => {
      await withApi(ctx, globals(), {}, (api) =>
        inspectEach(ctx, api, names, "volumes", async (name) =>
          volumeInspectView(await api.inspectVolume({ name, node: flags.node })),
        ),
      );
    });

  volume
    .command("rm")
    .alias("remove")
    .description("Remove one or more volumes (refused while a container uses them)")
    .argument("<names...>", "volume names")
    .option("--node <node>", "the node that holds them (id or name)")
    .action(async (names: string[], flags: { node?: string }) => {
      await withApi(ctx, globals(), {}, (api) =>
        eachRef(ctx, api, names, (name) => api.removeVolume({ name, node: flags.node })),
      );
    });
}
