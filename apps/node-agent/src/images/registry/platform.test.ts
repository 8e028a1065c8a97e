import { describe, expect, it } from "vitest";
import type { ImageIndex } from "../oci";
import { hostPlatform, selectManifest } from "./platform";

const d = (c: string) => `sha256:${c.repeat(64)}`;
const index: ImageIndex = {
  schemaVersion: 2,
  manifests: [
    {
      mediaType: "m",
      digest: d("a"),
      size: 1,
      platform: { os: "linux", architecture: "arm", variant: "v6" },
    },
    {
      mediaType: "m",
      digest: d("b"),
      size: 1,
      platform: { os: "linux", architecture: "arm", variant: "v7" },
    },
    {
      mediaType: "m",
      digest: d("c"),
      size: 1,
      platform: { os: "linux", architecture: "arm64", variant: "v8" },
    },
    { mediaType: "m", digest: d("d"), size: 1, platform: { os: "windows", architecture: "amd64" } },
    { mediaType: "m", digest: d("e"), size: 1, platform: { os: "linux", architecture: "amd64" } },
    { mediaType: "m", digest: d("f"), size: 1 }, // an attestation: no platform
  ],
};

describe("platform selection", () => {
  it("maps the host to linux/<arch>[/variant]", () => {
    expect(hostPlatform("x64")).toEqual({ os: "linux", architecture: "amd64" });
    expect(hostPlatform("arm64")).toEqual({ os: "linux", architecture: "arm64", variant: "v8" });
    expect(hostPlatform("arm", "6")).toEqual({ os: "linux", architecture: "arm", variant: "v6" });
  });

  it("picks os/arch, the best ARM variant, and names what is there when nothing fits", () => {
    expect(selectManifest(index, { os: "linux", architecture: "amd64" }).digest).toBe(d("e"));
    expect(selectManifest(index, hostPlatform("arm64")).digest).toBe(d("c"));
    expect(selectManifest(index, { os: "linux", architecture: "arm", variant: "v7" }).digest).toBe(
      d("b"),
    );
    expect(selectManifest(index, { os: "linux", architecture: "arm", variant: "v8" }).digest).toBe(
      d("b"),
    );
    expect(selectManifest(index, { os: "linux", architecture: "arm", variant: "v6" }).digest).toBe(
      d("a"),
    );
    expect(() =>
      selectManifest(index, { os: "linux", architecture: "arm", variant: "v5" }),
    ).toThrow(/no image for linux\/arm\/v5/);
    expect(() => selectManifest(index, { os: "linux", architecture: "riscv64" })).toThrow(
      /it has: linux\/arm\/v6, linux\/arm\/v7, linux\/arm64\/v8, windows\/amd64, linux\/amd64/,
    );
  });
});
