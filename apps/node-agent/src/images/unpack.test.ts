import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import * as tar from "tar-stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { sha256Digest } from "./content-store";
import { cleanEntryName, unpackLayer } from "./unpack";

type E = Partial<tar.Header> & { name: string; data?: string };

async function tarOf(entries: E[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on("data", (c: unknown) => chunks.push(c as Buffer));
  const done = new Promise<void>((r) => pack.on("end", () => r()));
  for (const { data, ...h } of entries) {
    await new Promise<void>((res, rej) =>
      data === undefined
        ? pack.entry(h, (e) => (e ? rej(e) : res()))
        : pack.entry(h, data, (e) => (e ? rej(e) : res())),
    );
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

let dir: string;
let root: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "berth-unpack-"));
  root = join(dir, "root");
  mkdirSync(root);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function unpack(entries: E[]) {
  const t = await tarOf(entries);
  const p = join(dir, "layer.tar.gz");
  writeFileSync(p, gzipSync(t));
  return unpackLayer(p, root, { gzip: true, expectedDiffId: sha256Digest(t) });
}

describe("cleanEntryName", () => {
  it("normalizes and refuses escapes", () => {
    expect(cleanEntryName("./bin//sh")).toBe("bin/sh");
    expect(cleanEntryName("./")).toBe("");
    expect(() => cleanEntryName("../etc/passwd")).toThrow(/escapes/);
    expect(() => cleanEntryName("a/../../b")).toThrow(/escapes/);
    expect(() => cleanEntryName("/etc/passwd")).toThrow(/absolute/);
  });
});

describe("unpackLayer", () => {
  it("unpacks files, dirs, symlinks and hard links with their modes and checks the diff_id", async () => {
    const r = await unpack([
      { name: "bin/", type: "directory", mode: 0o755 },
      { name: "bin/tool", type: "file", mode: 0o4755, data: "#!x" },
      { name: "bin/alias", type: "symlink", linkname: "tool" },
      { name: "bin/hard", type: "link", linkname: "bin/tool" },
      { name: "tmp/", type: "directory", mode: 0o1777 },
    ]);
    expect(r.entries).toBe(5);
    expect(readFileSync(join(root, "bin/tool"), "utf8")).toBe("#!x");
    expect(lstatSync(join(root, "bin/tool")).mode & 0o7777).toBe(0o4755);
    expect(readlinkSync(join(root, "bin/alias"))).toBe("tool");
    expect(lstatSync(join(root, "bin/hard")).ino).toBe(lstatSync(join(root, "bin/tool")).ino);
    expect(lstatSync(join(root, "tmp")).mode & 0o7777).toBe(0o1777);
  });

  it("refuses a `..` entry", async () => {
    await expect(
      unpack([{ name: "../evil", type: "file", mode: 0o644, data: "x" }]),
    ).rejects.toThrow(/escapes the root/);
    expect(existsSync(join(dir, "evil"))).toBe(false);
  });

  it("refuses an absolute entry", async () => {
    await expect(unpack([{ name: "/evil", type: "file", mode: 0o644, data: "x" }])).rejects.toThrow(
      /absolute/,
    );
  });

  it("keeps writes through a planted symlink inside the root", async () => {
    const outside = join(dir, "outside");
    mkdirSync(outside);
    await unpack([
      { name: "planted", type: "symlink", linkname: outside },
      { name: "planted/pwned", type: "file", mode: 0o644, data: "x" },
      { name: "up", type: "symlink", linkname: "../../../.." },
      { name: "up/pwned2", type: "file", mode: 0o644, data: "x" },
    ]);
    expect(existsSync(join(outside, "pwned"))).toBe(false);
    expect(existsSync(join(dir, "pwned2"))).toBe(false);
    // resolved relative to the root instead
    expect(readFileSync(join(root, outside, "pwned"), "utf8")).toBe("x");
    expect(readFileSync(join(root, "pwned2"), "utf8")).toBe("x");
  });

  it("refuses hard links that escape the root", async () => {
    await expect(
      unpack([{ name: "pw", type: "link", linkname: "../../etc/passwd" }]),
    ).rejects.toThrow(/escapes/);
  });

  it("skips device nodes", async () => {
    const r = await unpack([
      { name: "dev/", type: "directory", mode: 0o755 },
      { name: "dev/sda", type: "block-device", mode: 0o600, devmajor: 8, devminor: 0 },
    ]);
    expect(r.skipped).toEqual(["dev/sda (block-device)"]);
    expect(existsSync(join(root, "dev/sda"))).toBe(false);
  });

  it("fails on a diff_id mismatch", async () => {
    const t = await tarOf([{ name: "a", type: "file", mode: 0o644, data: "a" }]);
    const p = join(dir, "l.tar");
    writeFileSync(p, t);
    await expect(
      unpackLayer(p, root, { gzip: false, expectedDiffId: sha256Digest(Buffer.from("other")) }),
    ).rejects.toThrow(/diff_id mismatch/);
  });
});

describe("limits, whiteouts and modes", () => {
  it("refuses a layer that inflates past the limit (a decompression bomb)", async () => {
    const t = await tarOf([{ name: "zeros", data: "\0".repeat(4 * 1024 * 1024) }]);
    const p = join(dir, "bomb.tar.gz");
    const gz = gzipSync(t);
    writeFileSync(p, gz);
    expect(gz.length).toBeLessThan(64 * 1024);
    await expect(unpackLayer(p, root, { gzip: true, maxBytes: 1024 * 1024 })).rejects.toMatchObject(
      {
        kind: "invalid_input",
        message: expect.stringContaining("decompression bomb"),
      },
    );
  });

  it("refuses a layer with more entries than allowed", async () => {
    const entries = Array.from({ length: 20 }, (_, i) => ({ name: `f${i}`, data: "x" }));
    const t = await tarOf(entries);
    const p = join(dir, "many.tar");
    writeFileSync(p, t);
    await expect(unpackLayer(p, root, { gzip: false, maxEntries: 10 })).rejects.toMatchObject({
      kind: "invalid_input",
      message: "layer has more than 10 entries",
    });
  });

  it.skipIf(process.getuid?.() !== 0)(
    "turns whiteouts into overlay whiteouts and keeps setuid bits as the image says (root)",
    async () => {
      await unpack([
        { name: "etc/", type: "directory", mode: 0o755 },
        { name: "etc/.wh.old.conf", data: "" },
        { name: "opt/", type: "directory", mode: 0o755 },
        { name: "opt/.wh..wh..opq", data: "" },
        { name: "bin/", type: "directory", mode: 0o755 },
        { name: "bin/su", data: "#!/bin/sh\n", mode: 0o4755 },
      ]);
      const wh = lstatSync(join(root, "etc/old.conf"));
      expect(wh.isCharacterDevice()).toBe(true);
      expect(wh.rdev).toBe(0);
      const { execFileSync } = await import("node:child_process");
      const attr = execFileSync(
        "getfattr",
        ["--absolute-names", "-n", "trusted.overlay.opaque", join(root, "opt")],
        { encoding: "utf8" },
      );
      expect(attr).toContain('trusted.overlay.opaque="y"');
      expect(lstatSync(join(root, "bin/su")).mode & 0o7777).toBe(0o4755);
    },
  );
});
