import { execFileSync } from "node:child_process";
import { createReadStream } from "node:fs";
import {
  chmod,
  mkdir,
  mkdtemp,
  open,
  readdir,
  rm,
  symlink,
  utimes,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { gzipSync } from "node:zlib";
import * as tar from "tar-stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DomainError } from "@berth/core";
import {
  BuildContext,
  detectLocalArchive,
  digestSources,
  planCopy,
  type ResolvedSource,
} from "./context";
import { DockerfileError } from "./dockerfile";

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "berth-ctx-test-"));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

async function makeDir(name: string, files: Record<string, string>): Promise<string> {
  const dir = join(work, name);
  for (const [p, content] of Object.entries(files)) {
    await mkdir(join(dir, p, ".."), { recursive: true });
    await writeFile(join(dir, p), content);
  }
  await mkdir(dir, { recursive: true });
  return dir;
}

const paths = (r: ResolvedSource[]) =>
  r.flatMap((s) =>
    s.matches.map((m) => [m.path, m.type, m.entries.map((e) => `${e.path}:${e.type}`)]),
  );

async function rejects(p: Promise<unknown>): Promise<DomainError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(DomainError);
    return e as DomainError;
  }
  throw new Error("expected a DomainError");
}

describe("BuildContext from a directory", () => {
  let dir: string;
  let ctx: BuildContext;
  beforeAll(async () => {
    dir = await makeDir("app", {
      Dockerfile: "FROM scratch\n",
      ".dockerignore":
        "Dockerfile\n.dockerignore\n*.log\nnode_modules\n!node_modules/keep/**\nsecrets/\n",
      "main.go": "package main\n",
      "util.go": "package main // util\n",
      "README.md": "# app\n",
      "debug.log": "noise",
      "src/a.txt": "a",
      "src/b.txt": "b",
      "src/deep/c.log": "not at the root: kept",
      "src/deep/d.txt": "d",
      "node_modules/lib/index.js": "x",
      "node_modules/keep/x.js": "kept",
      "secrets/key": "s3cr3t",
    });
    await symlink("a.txt", join(dir, "src/link-to-a"));
    await symlink("/etc", join(dir, "etc-link"));
    await symlink("../../../../../../etc/passwd", join(dir, "up-link"));
    await symlink("src", join(dir, "src-link"));
    await symlink("secrets/key", join(dir, "to-secret"));
    ctx = await BuildContext.open(dir);
  });

  it("reads the Dockerfile even when .dockerignore excludes it", async () => {
    expect(ctx.isExcluded("Dockerfile")).toBe(true);
    expect(await ctx.readDockerfile()).toBe("FROM scratch\n");
    expect((await rejects(ctx.readDockerfile("Nope"))).message).toBe(
      "cannot find Nope in the build context",
    );
    expect((await rejects(ctx.readDockerfile("../x"))).message).toMatch(
      /must be inside the build context/,
    );
  });

  it("resolves files, directories and globs, honouring .dockerignore", async () => {
    const r = await ctx.resolveSources(["main.go", "src", "*.go", "src/*.txt"]);
    expect(paths(r)).toEqual([
      ["main.go", "file", [":file"]],
      [
        "src",
        "dir",
        [
          ":dir",
          "a.txt:file",
          "b.txt:file",
          "deep:dir",
          "deep/c.log:file",
          "deep/d.txt:file",
          "link-to-a:symlink",
        ],
      ],
      ["main.go", "file", [":file"]],
      ["util.go", "file", [":file"]],
      ["src/a.txt", "file", [":file"]],
      ["src/b.txt", "file", [":file"]],
    ]);
    const link = r[1]!.matches[0]!.entries.find((e) => e.path === "link-to-a")!;
    expect(link.linkTarget).toBe("a.txt");
  });

  it("the whole context (.) leaves out excluded paths but keeps re-included ones", async () => {
    const r = await ctx.resolveSources(["."]);
    const all = r[0]!.matches[0]!.entries.map((e) => e.path);
    expect(all).toContain("main.go");
    expect(all).toContain("node_modules");
    expect(all).toContain("node_modules/keep");
    expect(all).toContain("node_modules/keep/x.js");
    expect(all).toContain("src/deep/c.log");
    for (const gone of [
      "Dockerfile",
      ".dockerignore",
      "debug.log",
      "node_modules/lib",
      "node_modules/lib/index.js",
      "secrets",
      "secrets/key",
    ])
      expect(all).not.toContain(gone);
  });

  it("a source symlink is followed inside the context only", async () => {
    const r = await ctx.resolveSources(["src-link"]);
    expect(r[0]!.matches[0]!.type).toBe("dir");
    // /etc inside the context is <ctx>/etc: it does not exist
    const e1 = await rejects(
      ctx.resolveSources(["etc-link/passwd"], { file: "Dockerfile", line: 4, keyword: "COPY" }),
    );
    expect(e1).toBeInstanceOf(DockerfileError);
    expect(e1.message).toBe(
      "Dockerfile:4: COPY failed: etc-link/passwd not found in the build context (or excluded by .dockerignore)",
    );
    await rejects(ctx.resolveSources(["up-link"]));
    // a link to an excluded file does not leak it
    await rejects(ctx.resolveSources(["to-secret"]));
  });

  it("excluded, missing, absolute and escaping sources are refused", async () => {
    const at = { file: "Dockerfile", line: 9, keyword: "ADD" };
    expect((await rejects(ctx.resolveSources(["debug.log"], at))).message).toBe(
      "Dockerfile:9: ADD failed: debug.log not found in the build context (or excluded by .dockerignore)",
    );
    expect((await rejects(ctx.resolveSources(["Dockerfile"], at))).message).toMatch(
      /Dockerfile not found/,
    );
    expect((await rejects(ctx.resolveSources(["*.rs"], at))).message).toBe(
      "Dockerfile:9: ADD failed: no source files were specified: no file in the build context matches *.rs",
    );
    expect((await rejects(ctx.resolveSources(["/etc/passwd"], at))).message).toBe(
      "Dockerfile:9: ADD source must be a path relative to the build context, not absolute: /etc/passwd",
    );
    expect((await rejects(ctx.resolveSources(["src/../../x"], at))).message).toBe(
      "Dockerfile:9: ADD forbidden path outside the build context: src/../../x",
    );
    expect((await rejects(ctx.resolveSources(["src/[a"], at))).message).toBe(
      "Dockerfile:9: ADD syntax error in pattern: [a",
    );
    expect((await rejects(ctx.resolveSources(["*.go"], at, false))).message).toBe(
      "Dockerfile:9: ADD with more than one source file, the destination must be a directory and end with a /",
    );
    expect(await ctx.resolveSources(["main.go"], at, false)).toHaveLength(1);
  });
});

describe("digestSources", () => {
  it("depends on contents, paths, modes and link targets, not on mtimes, location or excluded files", async () => {
    const files = { "app/a.txt": "hello", "app/sub/b.bin": "x".repeat(100_000), "other.txt": "o" };
    const d1 = await makeDir("dg1", { ...files, ".dockerignore": "app/ignored\n" });
    const d2 = await makeDir("dg2", { ...files, ".dockerignore": "app/ignored\n" });
    await symlink("a.txt", join(d1, "app/l"));
    await symlink("a.txt", join(d2, "app/l"));
    const digest = async (d: string, srcs = ["app"]) =>
      digestSources(await (await BuildContext.open(d)).resolveSources(srcs));
    const base = await digest(d1);
    expect(base).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(await digest(d2)).toBe(base);

    await utimes(join(d2, "app/a.txt"), 1000, 1000);
    expect(await digest(d2)).toBe(base);
    await writeFile(join(d2, "app/ignored"), "excluded");
    expect(await digest(d2)).toBe(base);
    await writeFile(join(d2, "other.txt"), "changed, but not copied");
    expect(await digest(d2)).toBe(base);

    await writeFile(join(d2, "app/a.txt"), "hellO");
    const changed = await digest(d2);
    expect(changed).not.toBe(base);
    await writeFile(join(d2, "app/a.txt"), "hello");
    expect(await digest(d2)).toBe(base);

    await chmod(join(d2, "app/a.txt"), 0o755);
    expect(await digest(d2)).not.toBe(base);
    await chmod(join(d2, "app/a.txt"), 0o644);
    expect(await digest(d2)).toBe(base);

    await rm(join(d2, "app/l"));
    await symlink("sub", join(d2, "app/l"));
    expect(await digest(d2)).not.toBe(base);

    // the same files named differently by the source are different inputs
    expect(await digest(d1, ["app/a.txt"])).not.toBe(await digest(d1, ["app/*.txt"]));
  });

  it("streams large files and reads them to the last byte", async () => {
    const d = join(work, "big");
    await mkdir(d, { recursive: true });
    const big = join(d, "big.bin");
    // 64 MiB, sparse: cheap on disk, but read in full by the digest
    execFileSync("truncate", ["-s", "64M", big]);
    const ctx = await BuildContext.open(d);
    const before = process.memoryUsage().rss;
    const first = await digestSources(await ctx.resolveSources(["big.bin"]));
    expect(process.memoryUsage().rss - before).toBeLessThan(48 * 1024 * 1024);
    const fh = await open(big, "r+");
    await fh.write(Buffer.from([1]), 0, 1, 64 * 1024 * 1024 - 1);
    await fh.close();
    const second = await digestSources(await ctx.resolveSources(["big.bin"]));
    expect(second).not.toBe(first);
  });
});

/* ---------------------------------- tar contexts ---------------------------------- */

type Entry = Partial<tar.Header> & { name: string; content?: string };

async function tarOf(entries: Entry[], gzip = false): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = new Promise<void>((res, rej) => {
    pack.on("data", (c: unknown) => {
      chunks.push(c as Buffer);
    });
    pack.on("end", res);
    pack.on("error", rej);
  });
  for (const e of entries) {
    const { content, ...header } = e;
    await new Promise<void>((res, rej) => {
      const cb = (err?: Error | null) => (err ? rej(err) : res());
      if (content === undefined) pack.entry(header, cb);
      else pack.entry(header, content, cb);
    });
  }
  pack.finalize();
  await done;
  const buf = Buffer.concat(chunks);
  return gzip ? gzipSync(buf) : buf;
}

describe("BuildContext.fromTar", () => {
  let temp: string;
  beforeAll(async () => {
    temp = join(work, "tmp-contexts");
  });

  const fromBuffer = (b: Buffer, maxBytes?: number) =>
    BuildContext.fromTar(Readable.from([b]), { tempDir: temp, ...(maxBytes ? { maxBytes } : {}) });

  it("unpacks a context made by the system tar (plain and gzip) and cleans up", async () => {
    const src = await makeDir("tarsrc", {
      Dockerfile: "FROM busybox\nCOPY . /app\n",
      ".dockerignore": "*.tmp\n",
      "app.sh": "#!/bin/sh\necho hi\n",
      "junk.tmp": "x",
      "lib/util.sh": "u",
    });
    await chmod(join(src, "app.sh"), 0o755);
    await symlink("util.sh", join(src, "lib/link"));
    for (const flags of ["-cf", "-czf"]) {
      const out = join(work, `ctx${flags}.tar`);
      execFileSync("tar", [flags, out, "-C", src, "."]);
      const ctx = await BuildContext.fromTar(createReadStream(out), { tempDir: temp });
      expect(await ctx.readDockerfile()).toBe("FROM busybox\nCOPY . /app\n");
      const r = await ctx.resolveSources(["."]);
      const entries = r[0]!.matches[0]!.entries;
      // Dockerfile and .dockerignore are part of the context unless .dockerignore lists them
      expect(entries.map((e) => e.path)).toEqual([
        "",
        ".dockerignore",
        "Dockerfile",
        "app.sh",
        "lib",
        "lib/link",
        "lib/util.sh",
      ]);
      expect(entries.find((e) => e.path === "app.sh")!.mode & 0o777).toBe(0o755);
      // same files, same digest as the directory they came from
      const direct = await BuildContext.open(src);
      expect(await digestSources(r)).toBe(await digestSources(await direct.resolveSources(["."])));
      await ctx.dispose();
    }
    expect(await readdir(temp)).toEqual([]);
  });

  it.each<[string, Entry[], RegExp]>([
    ["a ../ path", [{ name: "../evil", content: "x" }], /escapes the root: \.\.\/evil/],
    ["an absolute path", [{ name: "/etc/evil", content: "x" }], /absolute path: \/etc\/evil/],
    [
      "an entry beneath a symlink",
      [
        { name: "link", type: "symlink", linkname: "/tmp" },
        { name: "link/evil", content: "x" },
      ],
      /entry link\/evil lies beneath the symlink link/,
    ],
    [
      "a hard link to a file outside",
      [{ name: "h", type: "link", linkname: "../../../etc/passwd" }],
      /hard link h points outside the archive/,
    ],
    [
      "a hard link to a file not in the archive",
      [{ name: "h", type: "link", linkname: "etc/passwd" }],
      /not an earlier file of the archive/,
    ],
    [
      "a device node",
      [{ name: "dev-null", type: "character-device", devmajor: 1, devminor: 3 }],
      /dev-null is a character-device: only files, directories and links are allowed/,
    ],
    ["a fifo", [{ name: "p", type: "fifo" }], /p is a fifo/],
    ["a whiteout name", [{ name: "dir/.wh.file", content: "" }], /reserved whiteout prefix/],
  ])("refuses %s and writes nothing", async (_what, entries, message) => {
    for (const gzip of [false, true]) {
      const e = await rejects(fromBuffer(await tarOf(entries, gzip)));
      expect(e.kind).toBe("invalid_input");
      expect(e.message).toMatch(message);
    }
    expect(await readdir(temp).catch(() => [])).toEqual([]);
    expect(await readdir(work)).not.toContain("evil");
  });

  it("stops a decompression bomb at the size limit", async () => {
    const bomb = await tarOf([{ name: "zeros", content: "\0".repeat(20 * 1024 * 1024) }], true);
    expect(bomb.length).toBeLessThan(100 * 1024);
    const e = await rejects(fromBuffer(bomb, 4 * 1024 * 1024));
    expect(e.message).toMatch(/build context unpacks to more than the limit of 4194304 bytes/);
    // the stored (compressed) size is limited too
    const e2 = await rejects(fromBuffer(bomb, 1024));
    expect(e2.message).toMatch(/larger than the limit of 1024 bytes/);
    expect(await readdir(temp)).toEqual([]);
  });

  it("refuses something that is not a tar", async () => {
    const e = await rejects(fromBuffer(Buffer.from("this is not a tar archive at all".repeat(40))));
    expect(e.message).toMatch(/not a valid tar archive/);
    expect(await readdir(temp)).toEqual([]);
  });
});

describe("planCopy and detectLocalArchive", () => {
  it("places directory contents, files into directories, and renames single files", async () => {
    const d = await makeDir("plan", { "dir/a": "a", "dir/sub/b": "b", "f.txt": "f", "g.txt": "g" });
    const ctx = await BuildContext.open(d);
    const dir = await ctx.resolveSources(["dir"]);
    expect(planCopy(dir, "/app/", true).map((o) => [o.dest, o.type])).toEqual([
      ["/app", "dir"],
      ["/app/a", "file"],
      ["/app/sub", "dir"],
      ["/app/sub/b", "file"],
    ]);
    const file = await ctx.resolveSources(["f.txt"]);
    expect(planCopy(file, "/etc/conf", false).map((o) => o.dest)).toEqual(["/etc/conf"]);
    expect(planCopy(file, "/etc/conf", false, true).map((o) => o.dest)).toEqual([
      "/etc/conf/f.txt",
    ]);
    expect(planCopy(file, "/etc/", true).map((o) => o.dest)).toEqual(["/etc/f.txt"]);
    const glob = await ctx.resolveSources(["*.txt"], undefined, true);
    expect(planCopy(glob, "/x/", true).map((o) => o.dest)).toEqual(["/x/f.txt", "/x/g.txt"]);
    expect(planCopy(glob, "/", true).map((o) => o.dest)).toEqual(["/f.txt", "/g.txt"]);
  });

  it("recognizes local tarballs by content, not by name", async () => {
    const d = await makeDir("archives", { "data/x": "x", "plain.tar.gz": "not really gzip" });
    execFileSync("tar", ["-cf", join(d, "a.tar"), "-C", join(d, "data"), "."]);
    execFileSync("tar", ["-czf", join(d, "a.tgz"), "-C", join(d, "data"), "."]);
    execFileSync("tar", ["-cJf", join(d, "a.txz"), "-C", join(d, "data"), "."]);
    expect(await detectLocalArchive(join(d, "a.tar"))).toBe("tar");
    expect(await detectLocalArchive(join(d, "a.tgz"))).toBe("gzip");
    expect(await detectLocalArchive(join(d, "a.txz"))).toBe("xz");
    expect(await detectLocalArchive(join(d, "plain.tar.gz"))).toBeUndefined();
    expect(await detectLocalArchive(join(d, "data/x"))).toBeUndefined();
  });
});
