import { existsSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import * as tar from "tar-stream";
import { describe, expect, it } from "vitest";
import { buildBusyboxImage } from "./busybox-seed";
import { sha256Digest } from "./content-store";
import { ImageConfigSchema, ManifestSchema } from "./oci";

const HAS_BUSYBOX = existsSync("/usr/bin/busybox");

async function listTar(buf: Buffer): Promise<Map<string, tar.Header>> {
  const out = new Map<string, tar.Header>();
  const ex = tar.extract();
  const done = (async () => {
    for await (const e of ex) {
      out.set(e.header.name, e.header);
      e.resume();
    }
  })();
  ex.end(buf);
  await done;
  return out;
}

// The host's busybox-static is part of the machine contract (see the assignment); without it
// there is nothing to build from.
describe.skipIf(!HAS_BUSYBOX)("buildBusyboxImage", () => {
  it("builds a valid, deterministic single-layer OCI image", async () => {
    const a = await buildBusyboxImage();
    const b = await buildBusyboxImage();
    expect(a.manifestDigest).toBe(b.manifestDigest);
    expect(sha256Digest(a.manifest)).toBe(a.manifestDigest);

    const manifest = ManifestSchema.parse(JSON.parse(a.manifest.toString()));
    const config = ImageConfigSchema.parse(JSON.parse(a.config.toString()));
    expect(manifest.config.digest).toBe(sha256Digest(a.config));
    expect(manifest.layers).toHaveLength(1);
    expect(manifest.layers[0]!.digest).toBe(sha256Digest(a.layers[0]!));
    expect(config.config?.Env).toEqual([
      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    ]);
    expect(config.config?.Cmd).toEqual(["sh"]);
    expect(config.os).toBe("linux");

    const layerTar = gunzipSync(a.layers[0]!);
    expect(config.rootfs.diff_ids).toEqual([sha256Digest(layerTar)]);
    const entries = await listTar(layerTar);
    expect(entries.get("bin/busybox")?.type).toBe("file");
    expect(entries.get("bin/sh")).toMatchObject({ type: "symlink", linkname: "busybox" });
    expect(entries.get("bin/sleep")).toMatchObject({ type: "symlink", linkname: "busybox" });
    expect(entries.get("bin/echo")).toMatchObject({ type: "symlink", linkname: "busybox" });
    expect(entries.get("tmp/")?.mode).toBe(0o1777);
    for (const d of ["proc/", "sys/", "dev/", "etc/", "root/", "home/", "var/"])
      expect(entries.get(d)?.type).toBe("directory");
    expect(entries.get("etc/passwd")?.type).toBe("file");
    expect(entries.get("etc/group")?.type).toBe("file");
    expect(entries.get("bin/busybox")?.mtime?.getTime()).toBe(0);
  });
});
