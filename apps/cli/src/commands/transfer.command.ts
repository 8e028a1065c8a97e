/**
 * `berth pull REF` and `berth push REF`: the node (`--node`, or the only online one) talks to
 * the registry with the team's saved credential (`berth login REGISTRY`); progress per layer.
 * Ctrl-C cancels the transfer on the node.
 */
import { type Command } from "commander";
import type { ImageTransferViewChunk } from "@berth/core";
import { withApi, type CliContext } from "../context";
import { type GlobalFlags, withTeamFlag } from "./global-flags";
import { TransferProgressView } from "./transfer-progress";

interface TransferFlags {
  node?: string;
  team?: string;
  quiet?: boolean;
  json?: boolean;
}

export function registerTransferCommands(
  program: Command,
  ctx: CliContext,
  globals: () => GlobalFlags,
): void {
  const transfer = async (kind: "pull" | "push", ref: string, flags: TransferFlags) => {
    const view = TransferProgressView.for(ctx.stdout, kind, Boolean(flags.quiet || flags.json));
    const ac = new AbortController();
    const release = ctx.onInterrupt?.(() => ac.abort());
    let result: ImageTransferViewChunk | undefined;
    let moved = false;
    if (kind === "push" && !flags.quiet && !flags.json)
      ctx.stdout.write(`The push refers to repository [${ref.replace(/[:@][^/]*$/, "")}]\n`);
    try {
      await withApi(ctx, withTeamFlag(globals(), flags), {}, (api) =>
        api.streamImageTransfer(
          kind === "pull"
            ? { kind, input: { ref, ...(flags.node ? { node: flags.node } : {}) } }
            : {
                kind,
                input: { source: ref, target: ref, ...(flags.node ? { node: flags.node } : {}) },
              },
          (chunk) => {
            if (chunk.progress) {
              view.update(chunk.progress);
              if (
                chunk.progress.some((p) => p.status === "downloading" || p.status === "uploading")
              )
                moved = true;
            }
            if (chunk.digest !== undefined) result = chunk;
          },
          ac.signal,
        ),
      );
    } finally {
      view.stop();
      release?.();
    }
    if (ac.signal.aborted) {
      ctx.stderr.write(`${kind} cancelled\n`);
      return;
    }
    if (!result) return;
    if (flags.json) {
      ctx.stdout.write(
        `${JSON.stringify({ ref: result.ref, digest: result.digest, node: result.nodeName }, null, 2)}\n`,
      );
    } else if (flags.quiet) {
      ctx.stdout.write(`${result.ref}\n`);
    } else if (kind === "pull") {
      const status = moved ? "Downloaded newer image for" : "Image is up to date for";
      ctx.stdout.write(`Digest: ${result.digest}\nStatus: ${status} ${ref}\n${result.ref}\n`);
    } else {
      const tag = /:([^:/@]+)$/.exec(result.ref ?? ref)?.[1] ?? "latest";
      ctx.stdout.write(`${tag}: digest: ${result.digest}\n`);
    }
  };

  program
    .command("pull")
    .description("Pull an image from a registry onto a node")
    .argument("<ref>", "image reference (busybox, host:port/team/app:tag, name@sha256:…)")
    .option("--node <node>", "the node to pull onto (default: the only online node)")
    .option(
      "--team <team>",
      "the team that pulls it and holds the image (default: the team you act in)",
    )
    .option("-q, --quiet", "suppress the progress output; print the reference")
    .option("--json", "print the result as JSON")
    .action((ref: string, flags: TransferFlags) => transfer("pull", ref, flags));

  program
    .command("push")
    .description("Push an image from a node to its registry")
    .argument("<ref>", "the local image to push, named for its registry (host:port/team/app:tag)")
    .option("--node <node>", "the node holding the image (default: the only online node)")
    .option(
      "--team <team>",
      "the team whose registry credential pushes (default: the team you act in)",
    )
    .option("-q, --quiet", "suppress the progress output; print the reference")
    .option("--json", "print the result as JSON")
    .action((ref: string, flags: TransferFlags) => transfer("push", ref, flags));
}
