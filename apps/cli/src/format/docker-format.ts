/**
 * Docker's human formats, reproduced so `berth` output reads like `docker`'s:
 * durations (go-units HumanDuration), container status, sizes (go-units HumanSize, decimal),
 * the quoted and truncated COMMAND column, and tabwriter-aligned tables.
 */
import type { ContainerView } from "../api/views";

/** go-units HumanDuration: "Less than a second", "5 seconds", "About a minute", "3 hours", "2 weeks"... */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(Math.max(0, ms) / 1000);
  if (seconds < 1) return "Less than a second";
  if (seconds === 1) return "1 second";
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.floor(seconds / 60);
  if (minutes === 1) return "About a minute";
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.round(seconds / 3600);
  if (hours === 1) return "About an hour";
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.floor(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.floor(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24 / 30)} months`;
  return `${Math.floor(seconds / 3600 / 24 / 365)} years`;
}

export function ago(epochMs: number, now: number): string {
  return `${humanDuration(now - epochMs)} ago`;
}

type StatusFields = Pick<ContainerView, "state" | "exitCode" | "startedAt" | "finishedAt"> & {
  health?: { status: string } | null | undefined;
};

/** docker's suffix for a running container with a healthcheck: " (healthy)", " (health: starting)". */
function healthSuffix(c: StatusFields): string {
  const s = c.health?.status;
  if (!s) return "";
  return s === "starting" ? " (health: starting)" : ` (${s})`;
}

/** The STATUS column as `docker ps` writes it: "Up 3 seconds", "Exited (0) 5 seconds ago", "Created". */
export function containerStatus(c: StatusFields, now: number): string {
  switch (c.state) {
    case "creating":
      return "Creating";
    case "created":
      return "Created";
    case "running":
      return (
        (c.startedAt === null ? "Up" : `Up ${humanDuration(now - c.startedAt)}`) + healthSuffix(c)
      );
    case "paused":
      return c.startedAt === null
        ? "Up (Paused)"
        : `Up ${humanDuration(now - c.startedAt)} (Paused)`;
    case "stopping":
      return c.startedAt === null
        ? "Stopping"
        : `Up ${humanDuration(now - c.startedAt)} (Stopping)`;
    case "exited": {
      const code = c.exitCode === null ? "" : ` (${c.exitCode})`;
      if (c.finishedAt === null) return `Exited${code}`;
      return `Exited${code} ${ago(c.finishedAt, now)}`;
    }
    case "removing":
      return "Removal In Progress";
    case "dead":
      return "Dead";
  }
}

/** go-units HumanSizeWithPrecision(size, 3): decimal units, 3 significant digits ("4.26MB"). */
export function humanSize(bytes: number): string {
  const units = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
  let v = bytes;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${Number(v.toPrecision(3))}${units[i]}`;
}

/** Cuts to `max` characters with "…" like docker's Ellipsis. */
export function ellipsis(s: string, max: number): string {
  const chars = Array.from(s);
  if (chars.length <= max) return s;
  return `${chars.slice(0, max - 1).join("")}…`;
}

/** The COMMAND column: the joined command, truncated to 20 characters unless noTrunc, then quoted. */
export function commandColumn(command: string[] | null, noTrunc = false): string {
  const joined = (command ?? []).join(" ");
  return JSON.stringify(noTrunc ? joined : ellipsis(joined, 20));
}

/**
 * Aligns rows like Go's tabwriter with docker's settings (minwidth 10, padding 3):
 * every column but the last is padded to max(widest cell + 3, 10).
 */
export function formatTable(header: string[], rows: string[][]): string {
  const all = [header, ...rows];
  const widths = header.map((_, col) =>
    Math.max(...all.map((r) => Array.from(r[col] ?? "").length)),
  );
  return all
    .map((r) =>
      r
        .map((cell, col) => {
          if (col === header.length - 1) return cell;
          const width = Math.max(widths[col]! + 3, 10);
          return cell + " ".repeat(width - Array.from(cell).length);
        })
        .join("")
        .trimEnd(),
    )
    .join("\n");
}
