/**
 * `berth build` in-process against a small node:http server on 127.0.0.1 speaking the
 * POST /api/images/build contract of docs/API.md (the real endpoint is tested in apps/web, the
 * builder on the real kernel in apps/node-agent). Checks the packed context (.dockerignore
 * applied, the Dockerfile always sent, links kept as links), the query, the streamed output, and
 * refusals with their exit codes.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { extract } from "tar-stream";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { runBerth, useTestServer } from "../testing/cli-harness";

const DIGEST = `sha256:${"f".repeat(64)}`;

interface Seen {
  query: [string, string][];
  entries: { name: string; type: string; linkname?: string; body: string }[];
}

async function untar(body: Buffer): Promise<Seen["entries"]> {
  const out: Seen["entries"] = [];
  const ex = extract();
  const done = new Promise<void>((resolve, reject) => {
    ex.on("entry", (h, stream, next) => {
      const parts: Buffer[] = [];
      stream.on("data", (c) => parts.push(c as Buffer));
      stream.on("end", () => {
        out.push({
          name: h.name,
          type: h.type ?? "file",
          ...(h.linkname ? { linkname: h.linkname } : {}),
          body: Buffer.concat(parts).toString("utf8"),
        });
        next();
      });
    });
    ex.on("finish", resolve);
    ex.on("error", reject);
  });
  Readable.from([body]).pipe(ex);
  await done;
  return out;
}

describe("berth build", () => {
  const seen: Seen[] = [];
  let fail: string | null = null;
  const env = useTestServer(
    createServer((req, res) => {
      void (async () => {
        const url = new URL(req.url ?? "/", "http://x");
        const chunks: Buffer[] = [];
        for await (const c of req) chunks.push(c as Buffer);
        seen.push({
          query: [...url.searchParams.entries()],
          entries: await untar(Buffer.concat(chunks)),
        });
        res.writeHead(200, { "content-type": "application/x-ndjson" });
        res.write(`${JSON.stringify({ progress: "#1 [1/2] FROM busybox" })}\n`);
        res.write(`${JSON.stringify({ progress: "#2 [2/2] COPY app.txt /app.txt" })}\n`);
        if (fail !== null)
          res.end(`${JSON.stringify({ error: { kind: "runtime", message: fail } })}\n`);
        else
          res.end(
            `${JSON.stringify({ built: { digest: DIGEST, tags: ["app:1"], steps: [], warnings: [], nodeName: "node-1" } })}\n`,
          );
      })();
    }),
    "berth-cli-build-",
  );
  const ctxDir = mkdtempSync(join(tmpdir(), "berth-cli-build-ctx-"));
  mkdirSync(join(ctxDir, "node_modules/dep"), { recursive: true });
  mkdirSync(join(ctxDir, "docker"));
  writeFileSync(join(ctxDir, "docker/Dockerfile"), "FROM busybox\nCOPY app.txt /app.txt\n");
  writeFileSync(join(ctxDir, "app.txt"), "hello\n");
  writeFileSync(join(ctxDir, "secret.env"), "TOKEN=x\n");
  writeFileSync(join(ctxDir, "node_modules/dep/index.js"), "x");
  writeFileSync(join(ctxDir, ".dockerignore"), "node_modules\n*.env\ndocker\n");
  symlinkSync("/etc/passwd", join(ctxDir, "link"));
  afterAll(() => rmSync(ctxDir, { recursive: true, force: true }));
  beforeEach(() => {
    seen.length = 0;
    fail = null;
  });

  it("packs the context with .dockerignore applied, streams the output and names the image", async () => {
    const r = await runBerth(
      [
        "build",
        "-t",
        "app:1",
        "-f",
        join(ctxDir, "docker/Dockerfile"),
        "--build-arg",
        "V=2",
        ctxDir,
      ],
      env,
    );
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /^#1 \[1\/2\] FROM busybox\n#2 \[2\/2\] COPY app.txt \/app.txt\nBuild context sent: .*, 5 entries, 2 excluded by .dockerignore\nSuccessfully built ffffffffffff on node-1\nSuccessfully tagged app:1\n$/,
    );
    expect(seen[0]!.query).toEqual([
      ["t", "app:1"],
      ["file", "docker/Dockerfile"],
      ["build-arg", "V=2"],
    ]);
    const names = seen[0]!.entries.map((e) => e.name).sort();
    // docker/ is excluded but its Dockerfile is always sent; node_modules and *.env are not.
    expect(names).toEqual([".dockerignore", "app.txt", "docker/", "docker/Dockerfile", "link"]);
    expect(seen[0]!.entries.find((e) => e.name === "link")).toMatchObject({
      type: "symlink",
      linkname: "/etc/passwd",
    });
    expect(seen[0]!.entries.find((e) => e.name === "app.txt")?.body).toBe("hello\n");
  });

  it("-q prints the digest only; a failed build prints its output and the error, exit 1", async () => {
    const q = await runBerth(["build", "-q", "-f", join(ctxDir, "docker/Dockerfile"), ctxDir], env);
    expect(q).toMatchObject({ code: 0, stdout: `${DIGEST}\n` });
    fail = "Dockerfile:2: COPY failed: app.txt not found";
    const r = await runBerth(["build", "-f", join(ctxDir, "docker/Dockerfile"), ctxDir], env);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("#2 [2/2] COPY app.txt /app.txt\n");
    expect(r.stderr).toContain("berth: Dockerfile:2: COPY failed: app.txt not found");
  });

  it("refuses bad tags, a Dockerfile outside the context and unknown network modes up front", async () => {
    const tag = await runBerth(["build", "-t", "Bad Tag", ctxDir], env);
    expect(tag.code).toBe(2);
    expect(tag.stderr).toContain('invalid tag "Bad Tag"');
    const outside = await runBerth(["build", "-f", "/etc/hostname", ctxDir], env);
    expect(outside.code).toBe(2);
    expect(outside.stderr).toContain("is outside the build context");
    const net = await runBerth(["build", "--network", "bridge", ctxDir], env);
    expect(net.code).toBe(2);
    expect(seen).toEqual([]);
  });
});
