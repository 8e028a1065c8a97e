import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ContentStore, sha256Digest } from "./content-store";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "berth-cs-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("ContentStore", () => {
  it("stores blobs by sha256 and reads them back", async () => {
    const cs = new ContentStore(dir);
    const data = Buffer.from("hello");
    const d = await cs.put(data);
    expect(d).toBe("sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
    expect(cs.blobPath(d)).toBe(
      join(dir, "blobs/sha256/2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"),
    );
    expect((await cs.get(d)).toString()).toBe("hello");
    expect(await cs.has(d)).toBe(true);
  });

  it("refuses content that does not match the expected digest and stores nothing", async () => {
    const cs = new ContentStore(dir);
    const wrong = sha256Digest(Buffer.from("other"));
    await expect(cs.put(Buffer.from("hello"), wrong)).rejects.toThrow(/digest mismatch/);
    expect(await cs.has(wrong)).toBe(false);
    expect(await cs.has(sha256Digest(Buffer.from("hello")))).toBe(false);
  });

  it("detects a blob corrupted on disk", async () => {
    const cs = new ContentStore(dir);
    const d = await cs.put(Buffer.from("hello"));
    writeFileSync(cs.blobPath(d), "tampered");
    await expect(cs.get(d)).rejects.toThrow(/corrupted/);
  });

  it("reports a missing blob as not_found", async () => {
    const cs = new ContentStore(dir);
    await expect(cs.get(sha256Digest(Buffer.from("x")))).rejects.toMatchObject({
      kind: "not_found",
    });
  });
});
