/**
 * The build context: a directory (or an uploaded tar unpacked safely into one) filtered by
 * its `.dockerignore`.
 *
 * - Paths are always resolved inside the context root (sys/path resolveInRoot): a symlink in
 *   the context can never lead a COPY outside it — `link -> /etc` resolves to `<ctx>/etc`.
 * - A COPY/ADD source that is itself a symlink is followed (inside the root), as BuildKit
 *   does; symlinks found below a copied directory are copied as symlinks, never followed.
 * - `.dockerignore` excludes files from COPY/ADD; the Dockerfile is read even when excluded
 *   (Docker always sends it and `.dockerignore`, but COPY does not see excluded files).
 * - Sources may use path.Match wildcards per component (`*.go`, `src/*\/main.[ch]`).
 * - digestSources() hashes what a COPY would copy — relative paths, types, permission bits,
 *   symlink targets and file contents (streamed) — and not mtimes, owners or the context's
 *   location, so the same files give the same cache key anywhere.
 * - fromTar() accepts a context as a (optionally gzip) tar stream, refuses hostile archives
 *   (absolute or `..` names, device nodes, fifos, whiteout names, entries beneath a symlink,
 *   hard links out of the archive, archives over the size limit) before unpacking them with
 *   the layer unpacker (images/unpack.ts).
 */
import { createHash, randomBytes } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import {
  lstat,
  mkdir,
  open,
  readdir,
  readFile,
  readlink,
  realpath,
  rm,
  stat,
} from "node:fs/promises";
import { join, posix } from "node:path";
import { type Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import * as tar from "tar-stream";
import { DomainError } from "@berth/core";
import { isErrno } from "../../sys/fs";
import { resolveInRoot } from "../../sys/path";
import { cleanEntryName, unpackLayer } from "../unpack";
import { DockerfileError } from "./dockerfile";
import {
  compileGlob,
  DockerignoreError,
  DockerignoreMatcher,
  GlobError,
  hasGlobMeta,
} from "@berth/core";

export type EntryType = "file" | "dir" | "symlink";

export interface ContextEntry {
  /** Path relative to the match ("" for the match itself), slash-separated. */
  path: string;
  type: EntryType;
  /** Permission bits including setuid/setgid/sticky (mode & 0o7777). */
  mode: number;
  size: number;
  /** Symlink target as stored (only for symlinks). */
  linkTarget?: string;
  /** Absolute host path to read the entry from. */
  hostPath: string;
}

export interface ContextMatch {
  /** Path of the match relative to the context root ("." for the root). */
  path: string;
  /** Type after following the source itself if it is a symlink. */
  type: "file" | "dir";
  /** The match and, for a directory, everything below it not excluded, sorted by path. */
  entries: ContextEntry[];
}

export interface ResolvedSource {
  /** The source as written (after substitution). */
  source: string;
  matches: ContextMatch[];
}

/** Where an error points in the Dockerfile. */
export interface SourceLocation {
  file: string;
  line: number;
  keyword: string;
}

export interface FromTarOptions {
  /** Directory under which a private temp dir is made. */
  tempDir: string;
  /** Limit on the uncompressed size of the context (and on the stored tar). Default 2 GiB. */
  maxBytes?: number;
  /** Limit on the number of entries. Default 200 000. */
  maxEntries?: number;
}

const MAX_DOCKERFILE_BYTES = 4 * 1024 * 1024;

function cmpBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

function invalid(msg: string): DomainError {
  return new DomainError("invalid_input", msg);
}

export class BuildContext {
  private constructor(
    /** Real path of the context root. */
    readonly root: string,
    readonly ignore: DockerignoreMatcher,
    /** Temp dir to remove on dispose (contexts made from tars). */
    private readonly owned: string | undefined,
  ) {}

  /** Opens a context directory and reads its `.dockerignore` (if any). */
  static async open(dir: string): Promise<BuildContext> {
    let root: string;
    try {
      root = await realpath(dir);
      if (!(await stat(root)).isDirectory())
        throw invalid(`build context ${dir} is not a directory`);
    } catch (e) {
      if (isErrno(e, "ENOENT")) throw invalid(`build context ${dir} does not exist`);
      throw e;
    }
    return new BuildContext(root, await loadIgnore(root), undefined);
  }

  /**
   * Unpacks a context tar (plain or gzip) from `input` into a private temp dir below
   * `opts.tempDir`, refusing hostile archives. Call dispose() when done.
   */
  static async fromTar(input: Readable, opts: FromTarOptions): Promise<BuildContext> {
    const maxBytes = opts.maxBytes ?? 2 * 1024 ** 3;
    const maxEntries = opts.maxEntries ?? 200_000;
    await mkdir(opts.tempDir, { recursive: true });
    const dir = join(opts.tempDir, `context-${randomBytes(8).toString("hex")}`);
    await mkdir(dir, { mode: 0o700 });
    try {
      const tarPath = join(dir, "context.tar");
      const root = join(dir, "root");
      await mkdir(root, { mode: 0o755 });
      let stored = 0;
      const cap = new Transform({
        transform(chunk: Buffer, _enc, cb) {
          stored += chunk.length;
          if (stored > maxBytes)
            cb(invalid(`build context is larger than the limit of ${maxBytes} bytes`));
          else cb(null, chunk);
        },
      });
      await pipeline(input, cap, createWriteStream(tarPath, { mode: 0o600 }));
      const gzip = await isGzip(tarPath);
      await scanContextTar(tarPath, gzip, maxBytes, maxEntries);
      await unpackLayer(tarPath, root, { gzip });
      await rm(tarPath, { force: true });
      return new BuildContext(await realpath(root), await loadIgnore(root), dir);
    } catch (e) {
      await rm(dir, { recursive: true, force: true });
      throw e;
    }
  }

  /** Removes the unpacked copy of a tar context (no-op for a directory context). */
  async dispose(): Promise<void> {
    if (this.owned) await rm(this.owned, { recursive: true, force: true });
  }

  /** True when `.dockerignore` excludes the context-relative path. */
  isExcluded(rel: string): boolean {
    const p = posix.normalize(rel);
    if (p === "." || p === "") return false;
    return this.ignore.excludes(p);
  }

  /**
   * Reads the Dockerfile (path relative to the context, default `Dockerfile`). It is read
   * even when `.dockerignore` excludes it, as Docker does.
   */
  async readDockerfile(name = "Dockerfile"): Promise<string> {
    if (name.startsWith("/") || posix.normalize(name).startsWith("../"))
      throw invalid(`the Dockerfile path must be inside the build context: ${name}`);
    const host = await resolveInRoot(this.root, name);
    let st;
    try {
      st = await stat(host);
    } catch (e) {
      if (isErrno(e, "ENOENT") || isErrno(e, "ENOTDIR"))
        throw invalid(`cannot find ${name} in the build context`);
      throw e;
    }
    if (!st.isFile()) throw invalid(`${name} in the build context is not a regular file`);
    if (st.size > MAX_DOCKERFILE_BYTES)
      throw invalid(`${name} is larger than ${MAX_DOCKERFILE_BYTES} bytes`);
    return readFile(host, "utf8");
  }

  /**
   * Resolves COPY/ADD sources (context-relative, wildcards allowed) to what they match.
   * Errors name the Dockerfile line when `at` is given. With `destIsDir === false`, more than
   * one match is refused like Docker does.
   */
  async resolveSources(
    sources: string[],
    at?: SourceLocation,
    destIsDir?: boolean,
  ): Promise<ResolvedSource[]> {
    const fail = (msg: string): never => {
      if (at) throw new DockerfileError(at.file, at.line, `${at.keyword} ${msg}`);
      throw invalid(msg);
    };
    const out: ResolvedSource[] = [];
    for (const source of sources) {
      if (source.startsWith("/"))
        fail(`source must be a path relative to the build context, not absolute: ${source}`);
      const norm = posix.normalize(source);
      if (norm === ".." || norm.startsWith("../"))
        fail(`forbidden path outside the build context: ${source}`);
      let paths: string[];
      try {
        paths = hasGlobMeta(norm)
          ? await this.glob(norm)
          : [norm === "./" ? "." : norm.replace(/\/+$/, "") || "."];
      } catch (e) {
        if (e instanceof GlobError) return fail(e.message);
        throw e;
      }
      const matches: ContextMatch[] = [];
      for (const p of paths) {
        const m = await this.match(p);
        if (m) matches.push(m);
      }
      if (matches.length === 0) {
        fail(
          hasGlobMeta(norm)
            ? `failed: no source files were specified: no file in the build context matches ${source}`
            : `failed: ${source} not found in the build context (or excluded by .dockerignore)`,
        );
      }
      out.push({ source, matches });
    }
    const total = out.reduce((n, r) => n + r.matches.length, 0);
    if (destIsDir === false && total > 1)
      fail("with more than one source file, the destination must be a directory and end with a /");
    return out;
  }

  /** Context-relative paths matching a wildcard pattern, component by component. */
  private async glob(pattern: string): Promise<string[]> {
    const comps = pattern.split("/").filter((c) => c !== "" && c !== ".");
    let current: string[] = ["."];
    for (const comp of comps) {
      const next: string[] = [];
      for (const dir of current) {
        if (!hasGlobMeta(comp)) {
          next.push(dir === "." ? comp : `${dir}/${comp}`);
          continue;
        }
        const re = compileGlob(comp);
        const host = await resolveInRoot(this.root, dir);
        let names: string[];
        try {
          names = await readdir(host);
        } catch (e) {
          if (isErrno(e, "ENOENT") || isErrno(e, "ENOTDIR")) continue;
          throw e;
        }
        for (const n of names.sort(cmpBytes))
          if (re.test(n)) next.push(dir === "." ? n : `${dir}/${n}`);
      }
      current = next;
    }
    return current.filter((p) => p !== "." && !this.isExcluded(p));
  }

  /** The match for one context-relative path, or undefined when missing or excluded. */
  private async match(rel: string): Promise<ContextMatch | undefined> {
    if (this.isExcluded(rel)) return undefined;
    const host = await resolveInRoot(this.root, rel);
    // A followed symlink must not land on an excluded path either.
    const real = posix.relative(this.root, host) || ".";
    if (this.isExcluded(real)) return undefined;
    let st;
    try {
      st = await stat(host);
    } catch (e) {
      if (isErrno(e, "ENOENT") || isErrno(e, "ENOTDIR") || isErrno(e, "ELOOP")) return undefined;
      throw e;
    }
    if (st.isFile()) {
      return {
        path: rel,
        type: "file",
        entries: [
          { path: "", type: "file", mode: st.mode & 0o7777, size: st.size, hostPath: host },
        ],
      };
    }
    if (!st.isDirectory()) return undefined;
    const entries: ContextEntry[] = [
      { path: "", type: "dir", mode: st.mode & 0o7777, size: 0, hostPath: host },
    ];
    await this.walk(host, real, "", entries);
    return { path: rel, type: "dir", entries };
  }

  /** Walks a directory without following symlinks; returns whether anything was added. */
  private async walk(
    hostDir: string,
    ctxRel: string,
    rel: string,
    out: ContextEntry[],
  ): Promise<boolean> {
    let added = false;
    const names = (await readdir(hostDir)).sort(cmpBytes);
    for (const name of names) {
      const hostPath = join(hostDir, name);
      const r = rel === "" ? name : `${rel}/${name}`;
      const inCtx = ctxRel === "." ? r : `${ctxRel}/${r}`;
      const st = await lstat(hostPath);
      const excluded = this.isExcluded(inCtx);
      if (st.isDirectory()) {
        if (excluded && !this.ignore.mayIncludeBelow(inCtx)) continue;
        const at = out.length;
        const entry: ContextEntry = {
          path: r,
          type: "dir",
          mode: st.mode & 0o7777,
          size: 0,
          hostPath,
        };
        if (!excluded) out.push(entry);
        const below = await this.walk(hostPath, ctxRel, r, out);
        if (excluded && below) out.splice(at, 0, entry); // parent of re-included files
        added ||= below || !excluded;
        continue;
      }
      if (excluded) continue;
      if (st.isFile()) {
        out.push({ path: r, type: "file", mode: st.mode & 0o7777, size: st.size, hostPath });
        added = true;
      } else if (st.isSymbolicLink()) {
        out.push({
          path: r,
          type: "symlink",
          mode: st.mode & 0o7777,
          size: 0,
          linkTarget: await readlink(hostPath),
          hostPath,
        });
        added = true;
      }
      // sockets, fifos and devices are never part of a context
    }
    return added;
  }
}

async function loadIgnore(root: string): Promise<DockerignoreMatcher> {
  let text = "";
  try {
    const st = await lstat(join(root, ".dockerignore"));
    if (st.isFile()) text = await readFile(join(root, ".dockerignore"), "utf8");
  } catch (e) {
    if (!isErrno(e, "ENOENT")) throw e;
  }
  try {
    return DockerignoreMatcher.fromText(text);
  } catch (e) {
    if (e instanceof DockerignoreError) throw invalid(`.dockerignore: ${e.message}`);
    throw e;
  }
}

async function isGzip(path: string): Promise<boolean> {
  const fh = await open(path, "r");
  try {
    const buf = Buffer.alloc(2);
    const { bytesRead } = await fh.read(buf, 0, 2, 0);
    return bytesRead === 2 && buf[0] === 0x1f && buf[1] === 0x8b;
  } finally {
    await fh.close();
  }
}

/** Checks every entry of a context tar before anything is written. */
async function scanContextTar(path: string, gzip: boolean, maxBytes: number, maxEntries: number) {
  const extract = tar.extract();
  const source = createReadStream(path);
  let unpacked = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _e, cb) {
      unpacked += chunk.length;
      // tar overhead included: a bomb is stopped while it inflates
      if (unpacked > maxBytes + 1024 * 1024)
        cb(invalid(`build context unpacks to more than the limit of ${maxBytes} bytes`));
      else cb(null, chunk);
    },
  });
  const feeding = gzip
    ? pipeline(source, createGunzip(), counter, extract)
    : pipeline(source, counter, extract);
  let feedError: unknown;
  feeding.catch((e: unknown) => {
    feedError = e;
  });
  const symlinks = new Set<string>();
  const files = new Set<string>();
  let entries = 0;
  let total = 0;
  try {
    for await (const entry of extract) {
      const h = entry.header;
      entry.resume();
      if (++entries > maxEntries)
        throw invalid(`build context has more than ${maxEntries} entries`);
      let rel: string;
      try {
        rel = cleanEntryName(h.name);
      } catch (e) {
        throw invalid(`build context: ${(e as Error).message.replace(/^layer /, "")}`);
      }
      total += h.size ?? 0;
      if (total > maxBytes)
        throw invalid(`build context unpacks to more than the limit of ${maxBytes} bytes`);
      if (rel === "") continue;
      const parts = rel.split("/");
      if (parts.some((p) => p.startsWith(".wh.")))
        throw invalid(`build context entry ${rel} uses the reserved whiteout prefix .wh.`);
      for (let i = 1; i < parts.length; i++) {
        const parent = parts.slice(0, i).join("/");
        if (symlinks.has(parent))
          throw invalid(`build context entry ${rel} lies beneath the symlink ${parent}`);
      }
      switch (h.type) {
        case "file":
        case "contiguous-file":
        case "directory":
          symlinks.delete(rel);
          if (h.type !== "directory") files.add(rel);
          break;
        case "symlink":
          symlinks.add(rel);
          break;
        case "link": {
          let target: string;
          try {
            target = cleanEntryName(h.linkname ?? "");
          } catch {
            throw invalid(
              `build context hard link ${rel} points outside the archive: ${h.linkname}`,
            );
          }
          if (!files.has(target))
            throw invalid(
              `build context hard link ${rel} points to ${h.linkname}, which is not an earlier file of the archive`,
            );
          files.add(rel);
          break;
        }
        default:
          throw invalid(
            `build context entry ${rel} is a ${h.type}: only files, directories and links are allowed`,
          );
      }
    }
  } catch (e) {
    extract.destroy();
    source.destroy();
    if (e instanceof DomainError) throw e;
    throw invalid(`build context is not a valid tar archive: ${(e as Error).message}`);
  }
  await feeding.catch(() => undefined);
  if (feedError) {
    if (feedError instanceof DomainError) throw feedError;
    throw invalid(`build context is not a valid tar archive: ${(feedError as Error).message}`);
  }
}

/**
 * Digest of COPY/ADD inputs: `sha256:<hex>` over, per source and match, every entry's
 * relative path, type, permission bits, size and content hash (or symlink target).
 * Contents are streamed, never loaded whole.
 */
export async function digestSources(resolved: ResolvedSource[]): Promise<string> {
  const h = createHash("sha256");
  h.update("berth-copy-inputs-v1\n");
  for (const r of resolved) {
    h.update(`source ${JSON.stringify(r.source)}\n`);
    for (const m of r.matches) {
      h.update(`match ${JSON.stringify(m.path)} ${m.type}\n`);
      for (const e of m.entries) {
        let tail = "";
        if (e.type === "file") tail = await hashFile(e.hostPath);
        else if (e.type === "symlink") tail = JSON.stringify(e.linkTarget ?? "");
        h.update(`${JSON.stringify(e.path)} ${e.type} ${e.mode.toString(8)} ${e.size} ${tail}\n`);
      }
    }
  }
  return `sha256:${h.digest("hex")}`;
}

async function hashFile(path: string): Promise<string> {
  const h = createHash("sha256");
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest("hex");
}

/** One filesystem operation of a COPY/ADD from the context. */
export interface CopyOp {
  /** Absolute path in the image being built. */
  dest: string;
  type: EntryType;
  mode: number;
  /** Host path to read from (files), or the link target (symlinks). */
  hostPath: string;
  linkTarget?: string;
}

/**
 * Docker's COPY placement rules: a directory source copies its contents (not itself) into
 * `dest`; a file goes to `dest/<name>` when `dest` names a directory (trailing `/`, or an
 * existing directory in the image: `destExistsAsDir`), else to `dest` itself. Parents come
 * before children.
 */
export function planCopy(
  resolved: ResolvedSource[],
  dest: string,
  destIsDir: boolean,
  destExistsAsDir = false,
): CopyOp[] {
  const base = posix.normalize(dest).replace(/(.)\/+$/, "$1");
  const ops: CopyOp[] = [];
  for (const r of resolved) {
    for (const m of r.matches) {
      if (m.type === "dir") {
        for (const e of m.entries) {
          ops.push({
            dest: e.path === "" ? base : posix.join(base, e.path),
            type: e.type,
            mode: e.mode,
            hostPath: e.hostPath,
            ...(e.linkTarget === undefined ? {} : { linkTarget: e.linkTarget }),
          });
        }
      } else {
        const e = m.entries[0]!;
        const into = destIsDir || destExistsAsDir;
        ops.push({
          dest: into ? posix.join(base, posix.basename(m.path)) : base,
          type: "file",
          mode: e.mode,
          hostPath: e.hostPath,
        });
      }
    }
  }
  return ops;
}

export type ArchiveKind = "tar" | "gzip" | "bzip2" | "xz";

/**
 * What ADD does with a local file: a tar archive (plain, gzip, bzip2 or xz compressed) is
 * unpacked into the destination; anything else is copied. Returns the archive kind or
 * undefined. Compressed files are reported by their magic; the builder checks that the
 * decompressed stream is a tar when it unpacks (Docker copies a compressed non-tar as is).
 */
export async function detectLocalArchive(path: string): Promise<ArchiveKind | undefined> {
  const fh = await open(path, "r");
  try {
    const buf = Buffer.alloc(512);
    const { bytesRead } = await fh.read(buf, 0, 512, 0);
    const b = buf.subarray(0, bytesRead);
    if (b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b) return "gzip";
    if (b.length >= 3 && b.subarray(0, 3).toString("latin1") === "BZh") return "bzip2";
    if (b.length >= 6 && b.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])))
      return "xz";
    if (b.length === 512 && b.subarray(257, 262).toString("latin1") === "ustar") return "tar";
    return undefined;
  } finally {
    await fh.close();
  }
}
