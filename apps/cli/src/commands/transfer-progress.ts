/**
 * Per-layer progress of `berth pull` / `berth push`, as docker draws it: one line per layer
 * (`<12-hex id>: Downloading [=====>    ] 1.2MB/3.4MB`) in a cli-progress MultiBar on a terminal;
 * on a pipe, one plain line per layer each time its status changes; nothing with --quiet.
 */
import { MultiBar, type SingleBar } from "cli-progress";
import type { TransferProgressBody } from "@berth/core";
import type { OutputStream } from "../context";
import { humanSize } from "../format/docker-format";

type Status = TransferProgressBody["status"];

const PULL_LABELS: Record<Status, string> = {
  waiting: "Pulling fs layer",
  downloading: "Downloading",
  uploading: "Uploading",
  retrying: "Retrying",
  exists: "Already exists",
  mounted: "Mounted from another repository",
  done: "Pull complete",
};
const PUSH_LABELS: Record<Status, string> = {
  waiting: "Preparing",
  downloading: "Downloading",
  uploading: "Pushing",
  retrying: "Retrying",
  exists: "Layer already exists",
  mounted: "Mounted from another repository",
  done: "Pushed",
};

export function transferLabel(kind: "pull" | "push", status: Status): string {
  return (kind === "pull" ? PULL_LABELS : PUSH_LABELS)[status];
}

const shortId = (digest: string) => digest.slice("sha256:".length, "sha256:".length + 12);
const BAR_STATUSES: ReadonlySet<Status> = new Set(["downloading", "uploading", "retrying"]);

export class TransferProgressView {
  private readonly statuses = new Map<string, Status>();
  private multi: MultiBar | undefined;
  private readonly bars = new Map<string, SingleBar>();

  constructor(
    private readonly out: OutputStream,
    private readonly kind: "pull" | "push",
    private readonly mode: "bars" | "lines" | "quiet",
  ) {}

  /** Bars on a terminal, lines on a pipe, nothing when quiet. */
  static for(out: OutputStream, kind: "pull" | "push", quiet: boolean): TransferProgressView {
    return new TransferProgressView(out, kind, quiet ? "quiet" : out.isTTY ? "bars" : "lines");
  }

  update(progress: TransferProgressBody[]): void {
    for (const p of progress) {
      // docker shows layers; the config and manifests are small and quick.
      if (p.kind !== "layer" || this.mode === "quiet") continue;
      const before = this.statuses.get(p.digest);
      this.statuses.set(p.digest, p.status);
      if (this.mode === "lines") {
        if (before !== p.status)
          this.out.write(`${shortId(p.digest)}: ${transferLabel(this.kind, p.status)}\n`);
        continue;
      }
      this.bar(p);
    }
  }

  private bar(p: TransferProgressBody): void {
    this.multi ??= new MultiBar({
      stream: this.out as unknown as NodeJS.WritableStream,
      format: "{id}: {label} {bar} {size}",
      barCompleteChar: "=",
      barIncompleteChar: " ",
      barsize: 40,
      hideCursor: true,
      clearOnComplete: false,
      stopOnComplete: false,
      forceRedraw: true,
      autopadding: true,
      fps: 10,
    });
    const payload = {
      id: shortId(p.digest),
      label: transferLabel(this.kind, p.status).padEnd(16),
      size: BAR_STATUSES.has(p.status) ? `${humanSize(p.done)}/${humanSize(p.total)}` : "",
    };
    const total = Math.max(1, p.total);
    const done = p.status === "done" || p.status === "exists" ? total : Math.min(p.done, total);
    const existing = this.bars.get(p.digest);
    if (existing) {
      existing.setTotal(total);
      existing.update(done, payload);
    } else this.bars.set(p.digest, this.multi.create(total, done, payload));
  }

  stop(): void {
    this.multi?.stop();
    this.multi = undefined;
  }
}
