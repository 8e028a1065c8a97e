/**
 * Images in and out of tar archives: `image import` (a root filesystem tar becomes a one-layer
 * image), `save` (an OCI image layout archive that docker can load too) and `load` (OCI layout
 * archives and docker-archives).
 *
 * Everything that comes in is untrusted. Archive entry names are cleaned like layer entries
 * (`..`, absolute paths refused); every file is spooled to a private staging directory while it
 * is hashed and counted against size limits; the archive's JSON (index, manifests, configs) is
 * parsed with the OCI schemas; every blob digest and every layer's diff_id is checked, and each
 * layer is read through the same entry rules as the unpacker (`cleanEntryName`, hard links
 * inside the layer, devices skipped later). Only when all of it holds are the blobs written to
 * the content store through `ingest` (which verifies them once more) and the references tagged:
 * a refused archive stores nothing and tags nothing.
 */
import { createHash, randomBytes, type Hash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, readFile, rm, stat } from "node:fs/promises";
import { join, posix } from "node:path";
import { pipeline as pipelineCb, Readable, Transform, type TransformCallback } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip, createGzip } from "node:zlib";
import * as tar from "tar-stream";
import { DomainError } from "@berth/core";
import { z } from "zod";
import { ociArchitecture } from "./busybox-seed";
import type { ImageStore } from "./image-store";
import {
  DOCKER_MEDIA_TYPE_MANIFEST,
  DOCKER_MEDIA_TYPE_MANIFEST_LIST,
  DockerManifestSchema,
  ImageConfigSchema,
  ImageIndexSchema,
  ManifestSchema,
  MEDIA_TYPE_CONFIG,
  MEDIA_TYPE_INDEX,
  MEDIA_TYPE_LAYER_GZIP,
  MEDIA_TYPE_LAYER_TAR,
  MEDIA_TYPE_MANIFEST,
  dockerToOciManifest,
  layerSupport,
  type Descriptor,
  type ImageConfig,
  type Manifest,
} from "./oci";
import { familiarReference, normalizeReference, parseReference } from "./reference";
import { hostPlatform, selectManifest } from "./registry/platform";
import { cleanEntryName } from "./unpack";

/** The OCI annotation naming an image in an index (image-layout spec). */
export const ANNOTATION_REF_NAME = "org.opencontainers.image.ref.name";
/** containerd's (and docker 25+'s) annotation carrying the full image name. */
export const ANNOTATION_CONTAINERD_NAME = "io.containerd.image.name";

export interface ArchiveLimits {
  /** Largest single file in an archive (a blob), compressed as stored. */
  maxEntryBytes: number;
  /** Largest uncompressed layer (decompression bombs stop here). */
  maxLayerBytes: number;
  /** Most entries in an archive or a layer. */
  maxEntries: number;
  /** Largest JSON document (index, manifest, config). */
  maxJsonBytes: number;
}

export const DEFAULT_ARCHIVE_LIMITS: ArchiveLimits = {
  maxEntryBytes: 16 * 1024 ** 3,
  maxLayerBytes: 64 * 1024 ** 3,
  maxEntries: 1_000_000,
  maxJsonBytes: 4 * 1024 * 1024,
};

export interface ImageChanges {
  cmd?: string[] | undefined;
  entrypoint?: string[] | undefined;
  env?: string[] | undefined;
  workdir?: string | undefined;
}

export interface LoadedImage {
  /** Familiar reference tagged (`busybox:latest`), or null for an image the archive names not. */
  ref: string | null;
  digest: string;
}

function invalid(message: string, details?: Record<string, unknown>): DomainError {
  return new DomainError("invalid_input", message, details);
}

// ------------------------------------------------------------------ streaming helpers

/** A pass-through that hashes and counts what flows, failing past `limit` bytes. */
class Meter extends Transform {
  readonly hash: Hash = createHash("sha256");
  bytes = 0;
  constructor(
    private readonly limit: number,
    private readonly what: string,
  ) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.limit) {
      cb(invalid(`${this.what} is larger than the limit of ${this.limit} bytes`));
      return;
    }
    this.hash.update(chunk);
    cb(null, chunk);
  }
  get digest(): string {
    return `sha256:${this.hash.digest("hex")}`;
  }
}

/** Returns the stream again with its first bytes pushed back, and whether they are gzip's magic. */
async function sniffGzip(input: Readable): Promise<{ gzip: boolean; stream: Readable }> {
  const it = input[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  let have = 0;
  let ended = false;
  while (have < 2) {
    const r = await it.next();
    if (r.done) {
      ended = true;
      break;
    }
    const b = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value as Uint8Array);
    head.push(b);
    have += b.length;
  }
  const first = Buffer.concat(head);
  const gzip = first.length >= 2 && first[0] === 0x1f && first[1] === 0x8b;
  async function* rest(): AsyncGenerator<Buffer> {
    if (first.length > 0) yield first;
    if (ended) return;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value as Uint8Array);
    }
  }
  return { gzip, stream: Readable.from(rest(), { objectMode: false }) };
}

/** What `writeTo` needs: a node Writable or a streamx one (tar-stream). */
interface Sink {
  write(chunk: Buffer): boolean;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  removeListener(event: string, listener: (...args: unknown[]) => void): unknown;
}

async function writeTo(w: Sink, chunk: Buffer): Promise<void> {
  if (w.write(chunk)) return;
  await new Promise<void>((resolve, reject) => {
    const done = (e?: unknown) => {
      w.removeListener("drain", ok);
      w.removeListener("error", bad);
      w.removeListener("close", closed);
      if (e === undefined) resolve();
      else reject(e instanceof Error ? e : new Error(String(e)));
    };
    const ok = () => done();
    const bad = (e: unknown) => done(e);
    const closed = () => done(new Error("the stream closed"));
    w.on("drain", ok);
    w.on("error", bad);
    w.on("close", closed);
  });
}

/**
 * A tar consumer that checks every entry as the unpacker would (names, hard link targets,
 * entry count) and reads nothing into memory. Write the uncompressed tar into `writable`,
 * end it, then await `done`.
 */
function tarValidator(limits: ArchiveLimits): {
  writable: tar.Extract;
  done: Promise<{ entries: number; skipped: string[] }>;
} {
  const extract = tar.extract();
  let entries = 0;
  const skipped: string[] = [];
  extract.on("entry", (h, stream, next) => {
    // A destroyed extract destroys the entry too; its error is reported through `done`.
    stream.on("error", () => undefined);
    try {
      entries++;
      if (entries > limits.maxEntries)
        throw invalid(`the tar has more than ${limits.maxEntries} entries`);
      const rel = cleanEntryName(h.name);
      if (h.type === "link") {
        if (cleanEntryName(h.linkname ?? "") === "")
          throw invalid(`hard link ${rel} has an empty target`);
      } else if (
        h.type !== "file" &&
        h.type !== "contiguous-file" &&
        h.type !== "directory" &&
        h.type !== "symlink"
      ) {
        skipped.push(`${rel} (${h.type})`);
      }
    } catch (e) {
      stream.resume();
      extract.destroy(e as Error);
      return;
    }
    stream.on("end", () => next());
    stream.resume();
  });
  const done = new Promise<{ entries: number; skipped: string[] }>((resolve, reject) => {
    extract.on("finish", () => resolve({ entries, skipped }));
    extract.on("error", (e: Error) =>
      reject(e instanceof DomainError ? e : invalid(`not a valid tar archive: ${e.message}`)),
    );
  });
  done.catch(() => undefined);
  return { writable: extract, done };
}

/** Reads `source` (a layer, gzip or plain) fully: its diff_id, and the entry checks. */
async function scanLayer(
  source: Readable,
  gzip: boolean,
  limits: ArchiveLimits,
  what: string,
): Promise<string> {
  const meter = new Meter(limits.maxLayerBytes, `${what} (uncompressed)`);
  const v = tarValidator(limits);
  const feed = gzip
    ? pipeline(source, createGunzip(), meter, v.writable)
    : pipeline(source, meter, v.writable);
  try {
    await Promise.all([feed, v.done]);
  } catch (e) {
    if (e instanceof DomainError) throw e;
    throw invalid(`${what} is not a valid tar${gzip ? ".gz" : ""}: ${(e as Error).message}`);
  }
  return meter.digest;
}

// ------------------------------------------------------------------ import

/**
 * `image import`: the root filesystem tar `input` (plain or gzip) becomes a one-layer image
 * tagged `ref`. The layer is checked like any layer while it is re-compressed to a temp file;
 * only a valid tar reaches the content store.
 */
export async function importRootfs(
  store: ImageStore,
  input: Readable,
  ref: string,
  opts: { changes?: ImageChanges; limits?: Partial<ArchiveLimits>; created?: Date } = {},
): Promise<{ ref: string; digest: string }> {
  const limits = { ...DEFAULT_ARCHIVE_LIMITS, ...opts.limits };
  const r = parseReference(ref);
  if (r.digest !== undefined)
    throw invalid(`cannot import as a digest reference ("${ref}"): use NAME[:TAG]`);
  const staging = await stagingDir(store);
  try {
    const { gzip, stream } = await sniffGzip(input);
    const layerPath = join(staging, "layer.tar.gz");
    const uncompressed = new Meter(limits.maxLayerBytes, "the imported tar");
    const compressed = new Meter(Number.MAX_SAFE_INTEGER, "the compressed layer");
    const v = tarValidator(limits);
    const gz = createGzip({ level: 6 });
    const written = pipeline(gz, compressed, createWriteStream(layerPath, { mode: 0o600 }));
    written.catch(() => undefined);
    // pipeline (not pipe): an input or gunzip error destroys `uncompressed`, ending the loop.
    const done = () => undefined;
    const source = gzip
      ? pipelineCb(stream, createGunzip(), uncompressed, done)
      : pipelineCb(stream, uncompressed, done);
    try {
      for await (const chunk of source) {
        await Promise.race([
          Promise.all([writeTo(v.writable, chunk as Buffer), writeTo(gz, chunk as Buffer)]),
          v.done.then(() => {
            throw invalid("data after the end of the tar archive");
          }),
        ]);
      }
      (v.writable as unknown as { end(): void }).end();
      gz.end();
      const { entries } = await v.done;
      await written;
      if (entries === 0) throw invalid("the imported file is not a tar archive (no entries)");
    } catch (e) {
      v.writable.destroy();
      gz.destroy();
      if (e instanceof DomainError) throw e;
      throw invalid(
        `the imported file is not a valid tar${gzip ? ".gz" : ""}: ${(e as Error).message}`,
      );
    }
    const diffId = uncompressed.digest;
    const layerDigest = compressed.digest;
    const layerSize = compressed.bytes;

    const created = (opts.created ?? new Date()).toISOString();
    const config: ImageConfig = {
      created,
      architecture: ociArchitecture(),
      os: "linux",
      config: configFromChanges(opts.changes ?? {}),
      rootfs: { type: "layers", diff_ids: [diffId] },
      history: [{ created, created_by: "berth image import" }],
    };
    const configBytes = Buffer.from(JSON.stringify(config));
    const manifest: Manifest = {
      schemaVersion: 2,
      mediaType: MEDIA_TYPE_MANIFEST,
      config: {
        mediaType: MEDIA_TYPE_CONFIG,
        digest: sha256(configBytes),
        size: configBytes.length,
      },
      layers: [{ mediaType: MEDIA_TYPE_LAYER_GZIP, digest: layerDigest, size: layerSize }],
    };
    await ingestFile(store, layerPath, layerDigest, layerSize);
    await store.content.put(configBytes, manifest.config.digest);
    const digest = await store.content.put(Buffer.from(JSON.stringify(manifest)));
    await store.tag(ref, digest);
    return { ref: familiarReference(normalizeReference(ref)), digest };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

function configFromChanges(c: ImageChanges): NonNullable<ImageConfig["config"]> {
  const out: NonNullable<ImageConfig["config"]> = {};
  if (c.env !== undefined) out.Env = c.env;
  if (c.entrypoint !== undefined) out.Entrypoint = c.entrypoint;
  if (c.cmd !== undefined) out.Cmd = c.cmd;
  if (c.workdir !== undefined) out.WorkingDir = c.workdir;
  return out;
}

// ------------------------------------------------------------------ save

interface SaveEntry {
  ref: string | null;
  digest: string;
  manifest: Manifest;
}

/**
 * `save`: an OCI image layout archive (`oci-layout`, `index.json` naming each image with
 * `org.opencontainers.image.ref.name`, `blobs/sha256/*`) that also carries docker's
 * `manifest.json` pointing at the same blobs, so `docker load` and `skopeo oci-archive:` both
 * read it. Images are resolved before the stream starts (an unknown one fails the call); the
 * blobs are streamed from the content store.
 */
export async function saveImages(store: ImageStore, refs: readonly string[]): Promise<Readable> {
  if (refs.length === 0) throw invalid("name at least one image to save");
  const images: SaveEntry[] = [];
  for (const ref of refs) {
    const img = await store.resolveAny(ref);
    const isId = /^(?:sha256:)?[0-9a-f]{12,64}$/.test(ref);
    images.push({
      ref: isId ? null : normalizeReference(ref),
      digest: img.digest,
      manifest: img.manifest,
    });
  }
  const blobs = new Map<string, number>();
  for (const img of images) {
    blobs.set(img.digest, await store.content.size(img.digest));
    blobs.set(img.manifest.config.digest, img.manifest.config.size);
    for (const l of img.manifest.layers) blobs.set(l.digest, l.size);
  }
  const index = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPE_INDEX,
    manifests: images.map((img) => {
      const d: Descriptor = {
        mediaType: MEDIA_TYPE_MANIFEST,
        digest: img.digest,
        size: blobs.get(img.digest)!,
      };
      if (img.ref !== null)
        d.annotations = { [ANNOTATION_REF_NAME]: img.ref, [ANNOTATION_CONTAINERD_NAME]: img.ref };
      return d;
    }),
  };
  const blobPath = (d: string) => `blobs/sha256/${d.slice("sha256:".length)}`;
  // docker's manifest.json: one entry per image, its tags merged.
  const dockerEntries = new Map<string, { Config: string; RepoTags: string[]; Layers: string[] }>();
  for (const img of images) {
    let e = dockerEntries.get(img.digest);
    if (!e) {
      e = {
        Config: blobPath(img.manifest.config.digest),
        RepoTags: [],
        Layers: img.manifest.layers.map((l) => blobPath(l.digest)),
      };
      dockerEntries.set(img.digest, e);
    }
    if (img.ref !== null) {
      const tagged = familiarReference(img.ref);
      if (!img.ref.includes("@") && !e.RepoTags.includes(tagged)) e.RepoTags.push(tagged);
    }
  }

  const pack = tar.pack();
  const mtime = new Date(0);
  const add = (name: string, data: Buffer) =>
    new Promise<void>((resolve, reject) =>
      pack.entry({ name, mode: 0o644, mtime, size: data.length }, data, (err) =>
        err ? reject(err) : resolve(),
      ),
    );
  const fill = async () => {
    await add("oci-layout", Buffer.from(JSON.stringify({ imageLayoutVersion: "1.0.0" })));
    for (const dir of ["blobs/", "blobs/sha256/"])
      await new Promise<void>((resolve, reject) =>
        pack.entry({ name: dir, type: "directory", mode: 0o755, mtime }, (err) =>
          err ? reject(err) : resolve(),
        ),
      );
    for (const [digest, size] of blobs) {
      const src = await store.content.open(digest);
      const sink = pack.entry({ name: blobPath(digest), mode: 0o644, mtime, size });
      await pipeline(src, sink);
    }
    await add("index.json", Buffer.from(JSON.stringify(index)));
    await add("manifest.json", Buffer.from(JSON.stringify([...dockerEntries.values()])));
    pack.finalize();
  };
  fill().catch((e: unknown) => pack.destroy(e as Error));
  return Readable.from(pack);
}

// ------------------------------------------------------------------ load

interface Spooled {
  file: string;
  digest: string;
  size: number;
}

/**
 * `load`: reads an OCI image layout archive (with or without docker's manifest.json) or a
 * docker-archive from `input`, verifies it completely, then stores its blobs and tags the
 * references it names. Returns what it loaded.
 */
export async function loadArchive(
  store: ImageStore,
  input: Readable,
  opts: { limits?: Partial<ArchiveLimits> } = {},
): Promise<{ loaded: LoadedImage[] }> {
  const limits = { ...DEFAULT_ARCHIVE_LIMITS, ...opts.limits };
  const staging = await stagingDir(store);
  try {
    const files = await spoolArchive(input, staging, limits);
    const plan = files.has("index.json")
      ? await planOciLayout(files, limits)
      : files.has("manifest.json")
        ? await planDockerArchive(files, limits)
        : null;
    if (plan === null)
      throw invalid(
        "not an image archive: it has neither index.json (OCI layout) nor manifest.json (docker-archive)",
      );
    if (plan.images.length === 0) throw invalid("the archive holds no image");
    // Every layer: its diff_id and its entries, before anything is stored.
    const checked = new Set<string>();
    for (const img of plan.images) {
      for (const [i, layer] of img.manifest.layers.entries()) {
        if (checked.has(layer.digest)) continue;
        const support = layerSupport(layer.mediaType, false);
        if (!support.ok) throw invalid(support.reason);
        const blob = plan.blobs.get(layer.digest)!;
        const diffId = await scanLayer(
          createReadStream(blob.file),
          support.compression === "gzip",
          limits,
          `layer ${layer.digest}`,
        );
        const expected = img.config.rootfs.diff_ids[i];
        if (diffId !== expected)
          throw invalid(
            `layer ${layer.digest} does not match the image config: diff_id ${diffId}, config says ${expected}`,
          );
        checked.add(layer.digest);
      }
    }
    // Verified: store the blobs (ingest checks each once more), the manifests, then the tags.
    for (const [digest, blob] of plan.blobs) {
      if (await store.content.has(digest)) continue;
      await ingestFile(store, blob.file, digest, blob.size);
    }
    const loaded: LoadedImage[] = [];
    for (const img of plan.images) {
      const digest = await store.content.put(img.manifestBytes);
      if (img.refs.length === 0) loaded.push({ ref: null, digest });
      for (const ref of img.refs) {
        await store.tag(ref, digest);
        loaded.push({ ref: familiarReference(normalizeReference(ref)), digest });
      }
    }
    return { loaded };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** Writes every regular file of the archive to `staging`, hashed; returns them by clean path. */
async function spoolArchive(
  input: Readable,
  staging: string,
  limits: ArchiveLimits,
): Promise<Map<string, Spooled>> {
  const { gzip, stream } = await sniffGzip(input);
  const extract = tar.extract();
  const files = new Map<string, Spooled>();
  let n = 0;
  const feed = gzip ? pipeline(stream, createGunzip(), extract) : pipeline(stream, extract);
  feed.catch(() => undefined);
  try {
    for await (const entry of extract) {
      entry.on("error", () => undefined); // reported through the iterator
      const h = entry.header;
      n++;
      if (n > limits.maxEntries)
        throw invalid(`the archive has more than ${limits.maxEntries} entries`);
      let rel: string;
      try {
        rel = cleanEntryName(h.name);
      } catch (e) {
        throw invalid(`unsafe archive entry: ${(e as Error).message.replace(/^layer entry /, "")}`);
      }
      if (h.type === "file" || h.type === "contiguous-file") {
        if ((h.size ?? 0) > limits.maxEntryBytes)
          throw invalid(
            `archive entry ${rel} is ${h.size} bytes, more than the limit of ${limits.maxEntryBytes}`,
          );
        const file = join(staging, `f${n}`);
        const meter = new Meter(limits.maxEntryBytes, `archive entry ${rel}`);
        await pipeline(entry, meter, createWriteStream(file, { flags: "wx", mode: 0o600 }));
        const digest = meter.digest;
        const m = /^blobs\/sha256\/([^/]+)$/.exec(rel);
        if (m && `sha256:${m[1]}` !== digest)
          throw invalid(`blob ${rel} does not match its digest: its content hashes to ${digest}`, {
            path: rel,
            actual: digest,
          });
        files.set(rel, { file, digest, size: meter.bytes });
      } else if (h.type === "symlink" || h.type === "link") {
        // docker-archives link identical layers to one another: alias an earlier file.
        const target = cleanLinkTarget(rel, h.linkname ?? "", h.type === "symlink");
        const earlier = files.get(target);
        if (!earlier)
          throw invalid(
            `archive entry ${rel} links to ${h.linkname}, which is not an earlier file`,
          );
        files.set(rel, earlier);
        entry.resume();
      } else {
        entry.resume();
      }
    }
    await feed;
  } catch (e) {
    extract.destroy();
    if (e instanceof DomainError) throw e;
    throw invalid(`not a valid tar archive: ${(e as Error).message}`);
  }
  return files;
}

function cleanLinkTarget(rel: string, linkname: string, symlink: boolean): string {
  if (linkname.startsWith("/")) throw invalid(`archive entry ${rel} links to an absolute path`);
  const joined = symlink ? posix.join(posix.dirname(rel), linkname) : linkname;
  const norm = posix.normalize(joined);
  if (norm === ".." || norm.startsWith("../"))
    throw invalid(`archive entry ${rel} links outside the archive: ${linkname}`);
  return cleanEntryName(norm);
}

interface PlannedImage {
  refs: string[];
  manifest: Manifest;
  manifestBytes: Buffer;
  config: ImageConfig;
}

interface LoadPlan {
  images: PlannedImage[];
  /** Every blob to store (configs, layers, and manifests kept as they are). */
  blobs: Map<string, Spooled>;
}

async function readJson(
  f: Spooled | undefined,
  what: string,
  limits: ArchiveLimits,
): Promise<unknown> {
  if (!f) throw invalid(`the archive lacks ${what}`);
  if (f.size > limits.maxJsonBytes)
    throw invalid(`${what} is ${f.size} bytes, more than the limit of ${limits.maxJsonBytes}`);
  try {
    return JSON.parse(await readFile(f.file, "utf8"));
  } catch {
    throw invalid(`${what} is not valid JSON`);
  }
}

function parseWith<T>(schema: z.ZodType<T>, v: unknown, what: string): T {
  const r = schema.safeParse(v);
  if (!r.success) throw invalid(`${what} is malformed: ${z.prettifyError(r.error).slice(0, 2000)}`);
  return r.data;
}

/** The image name an OCI index entry carries, if any (a bare tag alone names nothing). */
function refOfAnnotations(a: Record<string, string> | undefined): string | null {
  const full = a?.[ANNOTATION_CONTAINERD_NAME];
  const name = full ?? a?.[ANNOTATION_REF_NAME];
  if (name === undefined) return null;
  if (full === undefined && !/[:/@]/.test(name)) return null;
  try {
    const r = parseReference(name);
    return r.digest !== undefined && r.tag === undefined ? null : name;
  } catch {
    return null;
  }
}

async function planOciLayout(
  files: Map<string, Spooled>,
  limits: ArchiveLimits,
): Promise<LoadPlan> {
  const layout = await readJson(files.get("oci-layout"), "oci-layout", limits).catch(() => null);
  if (
    layout !== null &&
    (layout as { imageLayoutVersion?: unknown }).imageLayoutVersion === undefined
  )
    throw invalid("oci-layout is malformed");
  const index = parseWith(
    ImageIndexSchema,
    await readJson(files.get("index.json"), "index.json", limits),
    "index.json",
  );
  const blobOf = (d: Descriptor, what: string): Spooled => {
    const f = files.get(`blobs/sha256/${d.digest.slice("sha256:".length)}`);
    if (!f) throw invalid(`the archive lacks ${what} ${d.digest}`);
    if (f.size !== d.size)
      throw invalid(`${what} ${d.digest} is ${f.size} bytes, its descriptor says ${d.size}`);
    return f;
  };
  const blobs = new Map<string, Spooled>();
  const byDigest = new Map<string, PlannedImage>();
  const images: PlannedImage[] = [];
  for (const entry of index.manifests) {
    let desc = entry;
    if (desc.mediaType === MEDIA_TYPE_INDEX || desc.mediaType === DOCKER_MEDIA_TYPE_MANIFEST_LIST) {
      const nested = parseWith(
        ImageIndexSchema,
        await readJson(blobOf(desc, "index"), `index ${desc.digest}`, limits),
        `index ${desc.digest}`,
      );
      blobs.set(desc.digest, blobOf(desc, "index"));
      desc = selectManifest(nested, hostPlatform());
    }
    const mfile = blobOf(desc, "manifest");
    const raw = await readJson(mfile, `manifest ${desc.digest}`, limits);
    let manifest: Manifest;
    let manifestBytes: Buffer;
    if ((raw as { mediaType?: unknown }).mediaType === DOCKER_MEDIA_TYPE_MANIFEST) {
      manifest = dockerToOciManifest(
        parseWith(DockerManifestSchema, raw, `manifest ${desc.digest}`),
      );
      manifestBytes = Buffer.from(JSON.stringify(manifest));
    } else {
      manifest = parseWith(ManifestSchema, raw, `manifest ${desc.digest}`);
      manifestBytes = await readFile(mfile.file);
    }
    const refs: string[] = [];
    const ref = refOfAnnotations(entry.annotations);
    if (ref !== null) refs.push(ref);
    const known = byDigest.get(desc.digest);
    if (known) {
      known.refs.push(...refs);
      continue;
    }
    const cfile = blobOf(manifest.config, "config");
    const config = parseWith(
      ImageConfigSchema,
      await readJson(cfile, `config ${manifest.config.digest}`, limits),
      `config ${manifest.config.digest}`,
    );
    if (config.rootfs.diff_ids.length !== manifest.layers.length)
      throw invalid(
        `image ${desc.digest}: ${manifest.layers.length} layers but ${config.rootfs.diff_ids.length} diff_ids`,
      );
    blobs.set(manifest.config.digest, cfile);
    for (const l of manifest.layers) blobs.set(l.digest, blobOf(l, "layer"));
    const img: PlannedImage = { refs, manifest, manifestBytes, config };
    byDigest.set(desc.digest, img);
    images.push(img);
  }
  return { images, blobs };
}

/** docker-archive's manifest.json. */
const DockerArchiveManifestSchema = z
  .array(
    z.object({
      Config: z.string().min(1).max(4096),
      RepoTags: z.array(z.string().max(1024)).max(1024).nullable().optional(),
      Layers: z.array(z.string().min(1).max(4096)).max(127),
    }),
  )
  .max(1024);

async function isGzipFile(path: string): Promise<boolean> {
  const st = await stat(path);
  if (st.size < 2) return false;
  const s = createReadStream(path, { start: 0, end: 1 });
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  const b = Buffer.concat(chunks);
  return b[0] === 0x1f && b[1] === 0x8b;
}

async function planDockerArchive(
  files: Map<string, Spooled>,
  limits: ArchiveLimits,
): Promise<LoadPlan> {
  const entries = parseWith(
    DockerArchiveManifestSchema,
    await readJson(files.get("manifest.json"), "manifest.json", limits),
    "manifest.json",
  );
  const fileAt = (p: string, what: string): Spooled => {
    let rel: string;
    try {
      rel = cleanEntryName(p);
    } catch (e) {
      throw invalid(`manifest.json names an unsafe path for ${what}: ${(e as Error).message}`);
    }
    const f = files.get(rel);
    if (!f) throw invalid(`the archive lacks ${what} ${p}`);
    return f;
  };
  const blobs = new Map<string, Spooled>();
  const images: PlannedImage[] = [];
  for (const e of entries) {
    const cfile = fileAt(e.Config, "the config");
    const config = parseWith(
      ImageConfigSchema,
      await readJson(cfile, e.Config, limits),
      `config ${e.Config}`,
    );
    if (config.rootfs.diff_ids.length !== e.Layers.length)
      throw invalid(
        `image ${e.Config}: ${e.Layers.length} layers but ${config.rootfs.diff_ids.length} diff_ids`,
      );
    const layers: Descriptor[] = [];
    for (const p of e.Layers) {
      const f = fileAt(p, "the layer");
      layers.push({
        mediaType: (await isGzipFile(f.file)) ? MEDIA_TYPE_LAYER_GZIP : MEDIA_TYPE_LAYER_TAR,
        digest: f.digest,
        size: f.size,
      });
      blobs.set(f.digest, f);
    }
    blobs.set(cfile.digest, cfile);
    const manifest: Manifest = {
      schemaVersion: 2,
      mediaType: MEDIA_TYPE_MANIFEST,
      config: { mediaType: MEDIA_TYPE_CONFIG, digest: cfile.digest, size: cfile.size },
      layers,
    };
    const refs: string[] = [];
    for (const t of e.RepoTags ?? []) {
      try {
        const r = parseReference(t);
        if (r.digest === undefined) refs.push(t);
      } catch {
        throw invalid(`manifest.json has an invalid tag ${JSON.stringify(t)}`);
      }
    }
    images.push({ refs, manifest, manifestBytes: Buffer.from(JSON.stringify(manifest)), config });
  }
  return { images, blobs };
}

// ------------------------------------------------------------------ store plumbing

function sha256(data: Uint8Array): string {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

/** A private directory inside the image store for one import/load (removed by the caller). */
async function stagingDir(store: ImageStore): Promise<string> {
  const dir = join(store.dir, "staging", `${Date.now()}-${randomBytes(6).toString("hex")}`);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  return dir;
}

/** Streams a staged file into the content store through `ingest` (verified on commit). */
async function ingestFile(
  store: ImageStore,
  path: string,
  digest: string,
  size: number,
): Promise<void> {
  if (await store.content.has(digest)) return;
  await store.content.ingestSettled(digest);
  if (await store.content.has(digest)) return;
  const w = await store.content.ingest(digest, size);
  try {
    if (w.offset > 0) await w.reset();
    for await (const chunk of createReadStream(path)) await w.write(chunk as Buffer);
    await w.commit();
  } catch (e) {
    await w.abort();
    throw e;
  }
}
