/** `berth images`: the images stored on the online nodes. */
import { type Command } from "commander";
import type { ImageView } from "../api/views";
import { withApi, type CliContext } from "../context";
import { ago, formatTable, humanSize } from "../format/docker-format";
import { type GlobalFlags } from "./global-flags";

export const IMAGE_COLUMNS = ["NODE", "REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"];

/** Splits `host:5000/team/app:tag@sha256:…` into repository and tag like docker images does. */
export function splitRef(ref: string): { repository: string; tag: string } {
  const at = ref.indexOf("@");
  const named = at >= 0 ? ref.slice(0, at) : ref;
  const slash = named.lastIndexOf("/");
  const colon = named.lastIndexOf(":");
  if (colon > slash) return { repository: named.slice(0, colon), tag: named.slice(colon + 1) };
  return { repository: named, tag: at >= 0 ? "<none>" : "latest" };
}

function imageId(digest: string): string {
  return digest.replace(/^sha256:/, "").slice(0, 12);
}

export function imageRows(images: ImageView[], now: number): string[][] {
  return images.map((i) => {
    const { repository, tag } = splitRef(i.ref);
    const created = typeof i.createdAt === "number" ? i.createdAt : Date.parse(i.createdAt);
    return [
      i.nodeName,
      repository,
      tag,
      imageId(i.digest),
      Number.isNaN(created) ? "-" : ago(created, now),
      humanSize(i.size),
    ];
  });
}

export function registerImageCommands(
  program: Command,
  ctx: CliContext,
  globals: () => GlobalFlags,
): void {
  program
    .command("images")
    .description("List images on the online nodes")
    .option("--node <node>", "only this node (id or name)")
    .option("-q, --quiet", "only show image IDs")
    .option("--json", "print JSON")
    .action(async (flags: { node?: string; quiet?: boolean; json?: boolean }) => {
      const images = await withApi(ctx, globals(), {}, (api) =>
        api.listImages(flags.node ? { node: flags.node } : {}),
      );
      if (flags.json) ctx.stdout.write(`${JSON.stringify(images, null, 2)}\n`);
      else if (flags.quiet)
        ctx.stdout.write(
          [...new Set(images.map((i) => imageId(i.digest)))].map((id) => `${id}\n`).join(""),
        );
      else ctx.stdout.write(`${formatTable(IMAGE_COLUMNS, imageRows(images, ctx.now()))}\n`);
    });
}
