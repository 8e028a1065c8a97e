/**
 * Picking one manifest out of an OCI index / Docker manifest list for this node's platform, as
 * containerd's platform matcher does: same os and architecture; for ARM the variant matters
 * (arm64 → v8 or none; 32-bit arm → the host's variant, falling back to older ones).
 */
import { DomainError } from "@berth/core";
import { ociArchitecture } from "../busybox-seed";
import type { Descriptor, ImageIndex } from "../oci";

export interface WantedPlatform {
  os: string;
  architecture: string;
  variant?: string | undefined;
}

/** The platform of this host: linux/<arch>[/<variant>]. */
export function hostPlatform(
  nodeArch: string = process.arch,
  armVersion: unknown = (process.config.variables as Record<string, unknown>)["arm_version"],
): WantedPlatform {
  const architecture = ociArchitecture(nodeArch);
  if (architecture === "arm64") return { os: "linux", architecture, variant: "v8" };
  if (architecture === "arm")
    return { os: "linux", architecture, variant: `v${String(armVersion ?? "7")}` };
  return { os: "linux", architecture };
}

export function formatPlatform(p: {
  os: string;
  architecture: string;
  variant?: string | undefined;
}): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ""}`;
}

/** Variants acceptable for `wanted`, best first. */
function acceptableVariants(wanted: WantedPlatform): (string | undefined)[] {
  if (wanted.architecture === "arm64") return ["v8", undefined];
  if (wanted.architecture === "arm") {
    const n = Number((wanted.variant ?? "v7").slice(1));
    const out: (string | undefined)[] = [];
    for (let v = n; v >= 5; v--) out.push(`v${v}`);
    out.push(undefined);
    return out;
  }
  return [wanted.variant, undefined];
}

/**
 * The best manifest of `index` for `wanted`; `not_found` naming the platforms the index has.
 * Entries without a platform (attestations, artifacts) are skipped.
 */
export function selectManifest(index: ImageIndex, wanted: WantedPlatform): Descriptor {
  const candidates = index.manifests.filter(
    (m) =>
      m.platform !== undefined &&
      m.platform.os === wanted.os &&
      m.platform.architecture === wanted.architecture,
  );
  for (const variant of acceptableVariants(wanted)) {
    const hit = candidates.find((m) => m.platform?.variant === variant);
    if (hit) return hit;
  }
  if (wanted.variant === undefined && candidates[0]) return candidates[0];
  const available = index.manifests
    .filter((m) => m.platform)
    .map((m) => formatPlatform(m.platform!))
    .join(", ");
  throw new DomainError(
    "not_found",
    `no image for ${formatPlatform(wanted)} in the index (it has: ${available || "no platforms"})`,
    { platform: formatPlatform(wanted) },
  );
}
