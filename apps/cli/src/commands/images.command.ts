/** `berth images`: the images stored on the online nodes. */
import { type Command } from "commander";
import { shortImageId, splitImageRef } from "@berth/core";
import type { ImageDetailsView } from "../api/image-views";
import type { ImageView } from "../api/views";
import { withApi, type CliContext } from "../context";
import { CliError, EXIT_FAILURE } from "../errors";
import { ago, formatTable, humanSize } from "../format/docker-format";
import { eachRef, inspectEach } from "./each-ref";
import { type GlobalFlags } from "./global-flags";

export const IMAGE_COLUMNS = ["NODE", "REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"];

/** An administrator's listing (every team's images): the table gets a TEAM column. */
export function isFleetListing(images: ImageView[]): boolean {
  return images.some((i) => i.scope === "fleet");
}

/** Who holds the image, as the TEAM column shows it. */
export function imageTeam(i: ImageView): string {
  if (i.system) return "(system)";
  return i.teams && i.teams.length > 0 ? i.teams.join(",") : "-";
}

export function imageRows(images: ImageView[], now: number, withTeam = false): string[][] {
  return images.map((i) => {
    const { repository, tag } = splitImageRef(i.ref);
    const created = typeof i.createdAt === "number" ? i.createdAt : Date.parse(i.createdAt);
    return [
      i.nodeName,
      repository,
      tag,
      shortImageId(i.digest),
      Number.isNaN(created) ? "-" : ago(created, now),
      humanSize(i.size),
      ...(withTeam ? [imageTeam(i)] : []),
    ];
  });
}

/** docker image inspect's shape (the fields Berth has), plus the node. */
export function imageInspectView(d: ImageDetailsView): Record<string, unknown> {
  const repoTags = d.refs.filter((r) => !r.includes("@"));
  return {
    Id: d.digest,
    RepoTags: repoTags,
    RepoDigests: d.refs.filter((r) => r.includes("@")),
    Created: d.created ?? "",
    Architecture: d.architecture,
    Os: d.os,
    Size: d.size,
    Config: d.config,
    RootFS: { Type: "layers", Layers: d.layers.map((l) => l.diffId) },
    Layers: d.layers,
    History: d.history,
    Node: d.nodeName,
  };
}

/** `rmi` / `image prune` output lines, as docker prints them. */
export function removalLines(r: { untagged: string[]; deleted: string[] }): string[] {
  return [...r.untagged.map((u) => `Untagged: ${u}`), ...r.deleted.map((d) => `Deleted: ${d}`)];
}

export function registerImageCommands(
  program: Command,
  ctx: CliContext,
  globals: () => GlobalFlags,
): void {
  const list = async (flags: { node?: string; quiet?: boolean; json?: boolean }) => {
    const images = await withApi(ctx, globals(), {}, (api) =>
      api.listImages(flags.node ? { node: flags.node } : {}),
    );
    if (flags.json) ctx.stdout.write(`${JSON.stringify(images, null, 2)}\n`);
    else if (flags.quiet)
      ctx.stdout.write(
        [...new Set(images.map((i) => shortImageId(i.digest)))].map((id) => `${id}\n`).join(""),
      );
    else {
      const withTeam = isFleetListing(images);
      const columns = withTeam ? [...IMAGE_COLUMNS, "TEAM"] : IMAGE_COLUMNS;
      ctx.stdout.write(`${formatTable(columns, imageRows(images, ctx.now(), withTeam))}\n`);
    }
  };
  const listCommand = (cmd: Command) =>
    cmd
      .option("--node <node>", "only this node (id or name)")
      .option("-q, --quiet", "only show image IDs")
      .option("--json", "print JSON")
      .action(list);

  const inspect = async (refs: string[], flags: { node?: string }) => {
    await withApi(ctx, globals(), {}, (api) =>
      inspectEach(ctx, api, refs, "images", async (ref) =>
        imageInspectView(await api.inspectImage({ ref, node: flags.node })),
      ),
    );
  };

  const tag = async (source: string, target: string, flags: { node?: string }) => {
    await withApi(ctx, globals(), {}, (api) => api.tagImage({ source, target, node: flags.node }));
  };

  const remove = async (refs: string[], flags: { node?: string; force?: boolean }) => {
    await withApi(ctx, globals(), {}, (api) =>
      eachRef(
        ctx,
        api,
        refs,
        (ref) => api.removeImage({ ref, force: flags.force === true, node: flags.node }),
        (_ref, r) => removalLines(r),
      ),
    );
  };

  const prune = async (flags: {
    node?: string;
    all?: boolean;
    force?: boolean;
    json?: boolean;
  }) => {
    if (!flags.force) {
      const what = flags.all
        ? "all images without at least one container associated to them"
        : "all dangling images";
      if (!ctx.promptLine)
        throw new CliError(`this removes ${what}: add --force to prune without a prompt`, {
          exitCode: EXIT_FAILURE,
        });
      const answer = await ctx.promptLine(
        `WARNING! This will remove ${what}.\nAre you sure you want to continue? [y/N] `,
      );
      if (!/^y(es)?$/i.test(answer.trim())) return;
    }
    const results = await withApi(ctx, globals(), {}, (api) =>
      api.pruneImages({ all: flags.all === true, node: flags.node }),
    );
    if (flags.json) {
      ctx.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
      return;
    }
    const lines = results.flatMap((r) =>
      removalLines(r).map((l) => l[0]!.toLowerCase() + l.slice(1)),
    );
    if (lines.length > 0) ctx.stdout.write(`Deleted Images:\n${lines.join("\n")}\n\n`);
    const total = results.reduce((n, r) => n + r.reclaimedBytes, 0);
    ctx.stdout.write(`Total reclaimed space: ${humanSize(total)}\n`);
  };

  // `berth tag` / `berth image tag` and `berth rmi` / `berth image rm` are the same commands.
  const tagCommand = (cmd: Command) =>
    cmd
      .description("Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE")
      .argument("<source>", "SOURCE_IMAGE[:TAG] or image ID")
      .argument("<target>", "TARGET_IMAGE[:TAG]")
      .option("--node <node>", "the node that holds the image (id or name)")
      .action(tag);
  const removeCommand = (cmd: Command) =>
    cmd
      .description("Remove one or more images (refused while a container uses them, unless -f)")
      .argument("<images...>", "references or image IDs")
      .option("-f, --force", "untag even if a container uses it, and every tag of an image ID")
      .option("--node <node>", "the node that holds the images (id or name)")
      .action(remove);

  listCommand(program.command("images").description("List images on the online nodes"));
  tagCommand(program.command("tag"));
  removeCommand(program.command("rmi"));

  const image = program.command("image").description("Manage images");
  listCommand(image.command("ls").alias("list").description("List images"));
  image
    .command("inspect")
    .description("Display detailed information on one or more images (JSON)")
    .argument("<images...>", "references or image IDs")
    .option("--node <node>", "the node that holds them (id or name)")
    .action(inspect);
  tagCommand(image.command("tag"));
  removeCommand(image.command("rm").alias("remove"));
  image
    .command("assign")
    .description(
      "Give TEAM the image on its node (administrators): one made before images belonged to teams, or outside Berth",
    )
    .argument("<image>", "reference or image ID (by ID: its names no team holds)")
    .argument("<team>", "team name or id")
    .option("--node <node>", "the node that holds the image (id or name)")
    .action(async (ref: string, team: string, flags: { node?: string }) => {
      await withApi(ctx, globals(), {}, (api) => api.assignImage({ ref, team, node: flags.node }));
      ctx.stdout.write(`${ref}: assigned to team ${team}\n`);
    });
  image
    .command("prune")
    .description("Remove unused images (dangling ones; with -a every image no container uses)")
    .option("-a, --all", "remove all images no container uses, not just dangling ones")
    .option("-f, --force", "do not prompt for confirmation")
    .option("--node <node>", "only this node (id or name); default: every online node")
    .option("--json", "print JSON")
    .action(prune);
}
