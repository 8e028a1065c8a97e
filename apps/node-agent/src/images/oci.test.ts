import { describe, expect, it } from "vitest";
import {
  DOCKER_MEDIA_TYPE_CONFIG,
  DOCKER_MEDIA_TYPE_LAYER_FOREIGN,
  DOCKER_MEDIA_TYPE_LAYER_GZIP,
  DOCKER_MEDIA_TYPE_MANIFEST,
  DockerManifestSchema,
  ImageConfigSchema,
  ImageIndexSchema,
  MEDIA_TYPE_CONFIG,
  MEDIA_TYPE_LAYER_GZIP,
  MEDIA_TYPE_LAYER_TAR,
  MEDIA_TYPE_LAYER_ZSTD,
  MEDIA_TYPE_MANIFEST,
  dockerToOciManifest,
  layerSupport,
} from "./oci";

const d = (c: string) => `sha256:${c.repeat(64)}`;

describe("docker schema2 → OCI", () => {
  it("maps media types and keeps digests and sizes", () => {
    const docker = DockerManifestSchema.parse({
      schemaVersion: 2,
      mediaType: DOCKER_MEDIA_TYPE_MANIFEST,
      config: { mediaType: DOCKER_MEDIA_TYPE_CONFIG, digest: d("a"), size: 10 },
      layers: [{ mediaType: DOCKER_MEDIA_TYPE_LAYER_GZIP, digest: d("b"), size: 20 }],
    });
    expect(dockerToOciManifest(docker)).toEqual({
      schemaVersion: 2,
      mediaType: MEDIA_TYPE_MANIFEST,
      config: { mediaType: MEDIA_TYPE_CONFIG, digest: d("a"), size: 10 },
      layers: [{ mediaType: MEDIA_TYPE_LAYER_GZIP, digest: d("b"), size: 20 }],
    });
  });

  it("refuses foreign layers and non-image configs", () => {
    const base = {
      schemaVersion: 2 as const,
      mediaType: DOCKER_MEDIA_TYPE_MANIFEST as typeof DOCKER_MEDIA_TYPE_MANIFEST,
      config: { mediaType: DOCKER_MEDIA_TYPE_CONFIG, digest: d("a"), size: 10 },
    };
    expect(() =>
      dockerToOciManifest({
        ...base,
        layers: [{ mediaType: DOCKER_MEDIA_TYPE_LAYER_FOREIGN, digest: d("b"), size: 1 }],
      }),
    ).toThrow(/foreign/);
    expect(() =>
      dockerToOciManifest({
        ...base,
        config: { mediaType: "application/vnd.cncf.helm.config.v1+json", digest: d("a"), size: 1 },
        layers: [],
      }),
    ).toThrow(/not an image/);
  });
});

describe("layerSupport", () => {
  it("accepts gzip and plain tar, refuses zstd without zlib support", () => {
    expect(layerSupport(MEDIA_TYPE_LAYER_GZIP)).toEqual({ ok: true, compression: "gzip" });
    expect(layerSupport(DOCKER_MEDIA_TYPE_LAYER_GZIP)).toEqual({ ok: true, compression: "gzip" });
    expect(layerSupport(MEDIA_TYPE_LAYER_TAR)).toEqual({ ok: true, compression: "none" });
    const z = layerSupport(MEDIA_TYPE_LAYER_ZSTD, false);
    expect(z.ok).toBe(false);
    expect(!z.ok && z.reason).toMatch(/zstd-compressed layers .* lacks/);
    expect(layerSupport("application/x-unknown").ok).toBe(false);
  });
});

describe("schemas", () => {
  it("parses indexes with platforms and full image configs", () => {
    const idx = ImageIndexSchema.parse({
      schemaVersion: 2,
      mediaType: "application/vnd.docker.distribution.manifest.list.v2+json",
      manifests: [
        {
          mediaType: DOCKER_MEDIA_TYPE_MANIFEST,
          digest: d("c"),
          size: 5,
          platform: { architecture: "arm", os: "linux", variant: "v7" },
        },
      ],
    });
    expect(idx.manifests[0]!.platform?.variant).toBe("v7");
    const cfg = ImageConfigSchema.parse({
      architecture: "amd64",
      os: "linux",
      config: {
        ExposedPorts: { "80/tcp": {} },
        Volumes: { "/data": {} },
        Healthcheck: { Test: ["CMD", "true"], Interval: 30_000_000_000 },
        Env: null,
        Shell: ["/bin/sh", "-c"],
      },
      rootfs: { type: "layers", diff_ids: [] },
    });
    expect(cfg.config?.Healthcheck?.Test).toEqual(["CMD", "true"]);
  });
});
