/**
 * The registry's storage on a real directory: resumable uploads (hash state rebuilt after a
 * "restart"), and garbage collection that keeps referenced blobs, recent blobs and uploads in
 * progress, and never runs while a commit holds the lock.
 */
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, utimesSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { RegistryStorage } from "./registry-storage";

const sha = (b: Buffer | string) => `sha256:${createHash("sha256").update(b).digest("hex")}`;
const HOUR = 3600_000;

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "berth-registry-storage-"));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

async function putBlob(s: RegistryStorage, repo: string, data: Buffer): Promise<string> {
  const up = await s.startUpload(repo);
  await s.complete(repo, up.uuid, sha(data), Readable.from([data]));
  return sha(data);
}

function age(path: string, ms: number) {
  const t = new Date(Date.now() - ms);
  utimesSync(path, t, t);
}

describe("RegistryStorage", () => {
  it("stores large streamed blobs byte-identical (batched, overlapped writes stay in order)", async () => {
    const s = new RegistryStorage(root);
    // 6 concurrent uploads (the fs thread pool busy) of 9 MiB + 17 bytes each, in socket-sized
    // and uneven chunks over two requests: every byte must land where it belongs.
    await Promise.all(
      Array.from({ length: 6 }, async (_, k) => {
        const data = randomBytes(9 * 1024 * 1024 + 17);
        const chunks = (from: number, to: number) => {
          const out: Buffer[] = [];
          for (let i = from; i < to;) {
            const len = Math.min(i % 3 === 0 ? 65_536 : 40_000, to - i);
            out.push(data.subarray(i, i + len));
            i += len;
          }
          return Readable.from(out);
        };
        const repo = `team/big${k}`;
        const up = await s.startUpload(repo);
        const cut = 5 * 1024 * 1024 + 3;
        await s.append(repo, up.uuid, chunks(0, cut));
        const blob = await s.complete(repo, up.uuid, sha(data), chunks(cut, data.length));
        const stored = readFileSync(blob.path);
        expect(stored.length).toBe(data.length);
        expect(stored.equals(data)).toBe(true);
      }),
    );
  });

  it("resumes an upload in a new instance (state on disk, hash rebuilt)", async () => {
    const data = randomBytes(50_000);
    const a = new RegistryStorage(root);
    const up = await a.startUpload("team/app");
    await a.append("team/app", up.uuid, Readable.from([data.subarray(0, 20_000)]), {
      start: 0,
      end: 19_999,
    });
    const b = new RegistryStorage(root); // a restarted server
    expect((await b.upload("team/app", up.uuid)).offset).toBe(20_000);
    await b.append("team/app", up.uuid, Readable.from([data.subarray(20_000)]));
    const blob = await b.complete("team/app", up.uuid, sha(data));
    expect(blob.size).toBe(50_000);
    expect((await b.blob("team/app", sha(data)))?.size).toBe(50_000);
  });

  it("a chunk shorter than its Content-Range is rolled back", async () => {
    const s = new RegistryStorage(root);
    const up = await s.startUpload("team/app");
    await expect(
      s.append("team/app", up.uuid, Readable.from([Buffer.alloc(5)]), { start: 0, end: 9 }),
    ).rejects.toMatchObject({ code: "SIZE_INVALID" });
    expect((await s.upload("team/app", up.uuid)).offset).toBe(0);
  });

  it("GC removes unreferenced old blobs and keeps referenced, recent ones and live uploads", async () => {
    const s = new RegistryStorage(root);
    const config = Buffer.from("{}");
    const layer = randomBytes(1000);
    const orphan = randomBytes(1000);
    const fresh = randomBytes(1000);
    await putBlob(s, "team/app", config);
    await putBlob(s, "team/app", layer);
    await putBlob(s, "team/app", orphan);
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        config: { mediaType: "x", digest: sha(config), size: config.length },
        layers: [{ mediaType: "y", digest: sha(layer), size: layer.length }],
      }),
    );
    await s.putManifest(
      "team/app",
      {
        digest: sha(manifest),
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        bytes: manifest,
      },
      "1",
    );
    for (const d of [config, layer, orphan, manifest]) age(s.blobPath(sha(d)), 2 * HOUR);
    // Pushed just now, its manifest not yet: inside the grace period.
    await putBlob(s, "team/app", fresh);
    // An upload in progress (idle for two hours, under the 24 h limit).
    const up = await s.startUpload("team/app");
    await s.append("team/app", up.uuid, Readable.from([Buffer.from("partial")]));
    age(join(root, "uploads", up.uuid, "data"), 2 * HOUR);

    const r = await s.collectGarbage({ graceMs: HOUR });
    expect(r.blobsRemoved).toBe(1);
    expect(r.bytesFreed).toBe(1000);
    expect(existsSync(s.blobPath(sha(orphan)))).toBe(false);
    expect(await s.blob("team/app", sha(orphan))).toBeNull();
    for (const d of [config, layer, manifest, fresh])
      expect(existsSync(s.blobPath(sha(d)))).toBe(true);
    expect((await s.upload("team/app", up.uuid)).offset).toBe(7);

    // Once the manifest is deleted, its blobs go too; stale uploads after their limit.
    await s.deleteManifest("team/app", sha(manifest));
    const r2 = await s.collectGarbage({ graceMs: HOUR, uploadMaxAgeMs: HOUR });
    expect(r2.blobsRemoved).toBe(3);
    expect(r2.uploadsRemoved).toBe(1);
    expect(existsSync(s.blobPath(sha(fresh)))).toBe(true);
  });

  it("GC waits for a commit in progress and the committed blob survives", async () => {
    const s = new RegistryStorage(root);
    const data = randomBytes(4 * 1024 * 1024);
    const up = await s.startUpload("team/app");
    // The PUT's body arrives slowly; GC starts meanwhile.
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const body = Readable.from(
      (async function* () {
        yield data.subarray(0, 1024);
        await gate;
        yield data.subarray(1024);
      })(),
    );
    const commit = s.complete("team/app", up.uuid, sha(data), body);
    const gc = s.collectGarbage({ graceMs: 60_000, uploadMaxAgeMs: 0 });
    release();
    const [blob, r] = await Promise.all([commit, gc]);
    expect(r.uploadsRemoved).toBe(0);
    expect(blob.size).toBe(data.length);
    expect((await s.blob("team/app", sha(data)))?.size).toBe(data.length);
  });
});
