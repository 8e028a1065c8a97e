/**
 * Peer engines for side-by-side figures: Docker and Podman, used only when installed and (for
 * Docker) with an engine answering. Nothing is installed or started here; a missing peer is
 * reported with the reason it was skipped.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

export interface Peer {
  name: "docker" | "podman";
  bin: string;
  /** Set when the peer cannot be measured on this host. */
  skip?: string;
}

function firstExisting(paths: string[]): string | undefined {
  return paths.find((p) => existsSync(p));
}

function answers(argv: string[]): { ok: boolean; detail: string } {
  const r = spawnSync(argv[0]!, argv.slice(1), {
    stdio: ["ignore", "pipe", "pipe"],
    timeout: 10_000,
  });
  const detail = (r.stderr?.toString() || r.error?.message || "").trim().split("\n")[0] ?? "";
  return { ok: r.status === 0, detail };
}

export function detectDocker(): Peer {
  const bin = firstExisting(["/usr/bin/docker", "/usr/local/bin/docker"]);
  if (!bin) return { name: "docker", bin: "docker", skip: "docker is not installed" };
  const info = answers([bin, "info", "--format", "{{.ServerVersion}}"]);
  if (!info.ok)
    return { name: "docker", bin, skip: `${bin} has no running engine (${info.detail})` };
  const img = answers([bin, "image", "inspect", "busybox"]);
  if (!img.ok)
    return { name: "docker", bin, skip: "docker has no local busybox image (no pulls here)" };
  return { name: "docker", bin };
}

export function detectPodman(): Peer {
  const bin = firstExisting(["/usr/bin/podman", "/usr/local/bin/podman"]);
  if (!bin) return { name: "podman", bin: "podman", skip: "podman is not installed" };
  const img = answers([bin, "image", "exists", "busybox"]);
  if (!img.ok)
    return { name: "podman", bin, skip: "podman has no local busybox image (no pulls here)" };
  return { name: "podman", bin };
}
