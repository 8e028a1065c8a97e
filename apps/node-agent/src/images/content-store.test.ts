import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
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

  it("lists, sizes, streams and deletes blobs", async () => {
    const cs = new ContentStore(dir);
    expect(await cs.list()).toEqual([]);
    const a = await cs.put(Buffer.from("aaa"));
    const b = await cs.put(Buffer.from("bbbb"));
    expect(await cs.list()).toEqual([a, b].sort());
    expect(await cs.size(b)).toBe(4);
    const chunks: Buffer[] = [];
    for await (const c of await cs.open(b)) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe("bbbb");
    expect(await cs.delete(a)).toBe(true);
    expect(await cs.delete(a)).toBe(false);
    expect(await cs.list()).toEqual([b]);
    await expect(cs.size(a)).rejects.toMatchObject({ kind: "not_found" });
    await expect(cs.open(a)).rejects.toMatchObject({ kind: "not_found" });
  });
});

describe("ContentStore.ingest", () => {
  const data = Buffer.from("streamed content ".repeat(1000));
  const digest = sha256Digest(data);

  it("streams a blob in, verifies it and renames it into place", async () => {
    const cs = new ContentStore(dir);
    const w = await cs.ingest(digest, data.length);
    for (let i = 0; i < data.length; i += 1000) await w.write(data.subarray(i, i + 1000));
    expect(await cs.has(digest)).toBe(false);
    expect(await w.commit()).toBe(digest);
    expect((await cs.get(digest)).equals(data)).toBe(true);
    expect(readdirSync(join(dir, "ingest"))).toEqual([]);
  });

  it("refuses a digest mismatch and leaves nothing behind", async () => {
    const cs = new ContentStore(dir);
    const other = Buffer.from(data);
    other[10] = 0x21;
    const w = await cs.ingest(digest, data.length);
    await w.write(other);
    await expect(w.commit()).rejects.toThrow(/digest mismatch/);
    expect(await cs.has(digest)).toBe(false);
    expect(readdirSync(join(dir, "ingest"))).toEqual([]);
    expect(await cs.list()).toEqual([]);
  });

  it("refuses a truncated or oversized blob", async () => {
    const cs = new ContentStore(dir);
    const w = await cs.ingest(digest, data.length);
    await w.write(data.subarray(0, 100));
    await expect(w.commit()).rejects.toThrow(/truncated or oversized: 100 bytes, expected/);
    const w2 = await cs.ingest(digest, 10);
    await expect(w2.write(data.subarray(0, 11))).rejects.toThrow(/larger than its declared size/);
    expect(await cs.has(digest)).toBe(false);
    expect(readdirSync(join(dir, "ingest"))).toEqual([]);
  });

  it("resumes an abandoned temp file, or starts over on reset", async () => {
    const cs = new ContentStore(dir);
    mkdirSync(join(dir, "ingest"), { recursive: true });
    writeFileSync(join(dir, "ingest", digest.slice(7)), data.subarray(0, 5000));
    const w = await cs.ingest(digest, data.length);
    expect(w.offset).toBe(5000);
    await w.write(data.subarray(5000));
    expect(await w.commit()).toBe(digest);
    expect((await cs.get(digest)).equals(data)).toBe(true);

    const d2 = sha256Digest(Buffer.from("x2"));
    writeFileSync(join(dir, "ingest", d2.slice(7)), "garbage");
    const w2 = await cs.ingest(d2);
    expect(w2.offset).toBe(7);
    await w2.reset();
    expect(w2.offset).toBe(0);
    await w2.write(Buffer.from("x2"));
    expect(await w2.commit()).toBe(d2);
  });

  it("refuses a second concurrent writer for one digest, and abort cleans up", async () => {
    const cs = new ContentStore(dir);
    const w = await cs.ingest(digest);
    await expect(cs.ingest(digest)).rejects.toMatchObject({ kind: "conflict" });
    await w.write(data.subarray(0, 10));
    await w.abort();
    expect(existsSync(join(dir, "ingest", digest.slice(7)))).toBe(false);
    const again = await cs.ingest(digest);
    expect(again.offset).toBe(0);
    await again.abort();
  });
});
