/**
 * `berth save|load|image import` in-process against a small node:http server on 127.0.0.1 that
 * speaks the /api/images/{save,load,import} contract of docs/API.md (the real endpoints are
 * tested in apps/web, the archive code on a real store in apps/node-agent). Checks the requests
 * (query, auth, content type, bytes), output, progress, refusals and exit codes.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage } from "node:http";
import { join } from "node:path";
import { Readable } from "node:stream";
import { beforeEach, describe, expect, it } from "vitest";
import { type CliContext } from "../context";
import { runBerth, useTestServer } from "../testing/cli-harness";

const DIGEST = `sha256:${"e".repeat(64)}`;
const ARCHIVE = Buffer.alloc(700_000);
for (let i = 0; i < ARCHIVE.length; i++) ARCHIVE[i] = (i * 31) & 0xff;
const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

interface Seen {
  method: string;
  path: string;
  query: [string, string][];
  auth: string | undefined;
  type: string | undefined;
  body: Buffer;
}

describe("berth save / load / image import", () => {
  const seen: Seen[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    void (async () => {
      const url = new URL(req.url ?? "/", "http://x");
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      seen.push({
        method: req.method ?? "",
        path: url.pathname,
        query: [...url.searchParams.entries()],
        auth: req.headers.authorization,
        type: req.headers["content-type"],
        body: Buffer.concat(chunks),
      });
      const json = (status: number, body: unknown) =>
        res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
      if (url.pathname === "/api/images/save") {
        if (url.searchParams.getAll("ref").includes("nothere"))
          return json(404, {
            error: { kind: "not_found", message: 'image "nothere" not found on this node' },
          });
        res.writeHead(200, { "content-type": "application/x-tar" });
        for (let i = 0; i < ARCHIVE.length; i += 100_000)
          res.write(ARCHIVE.subarray(i, i + 100_000));
        return res.end();
      }
      if (url.pathname === "/api/images/load")
        return json(200, {
          nodeId: "n1",
          nodeName: "node-1",
          loaded: [
            { ref: "busybox:latest", digest: DIGEST },
            { ref: null, digest: DIGEST },
          ],
        });
      if (url.pathname === "/api/images/import")
        return json(200, {
          nodeId: "n1",
          nodeName: "node-1",
          loaded: [{ ref: url.searchParams.get("ref"), digest: DIGEST }],
        });
      json(404, { error: { kind: "not_found", message: "no such endpoint" } });
    })();
  });

  const env = useTestServer(server, "berth-cli-archive-");
  beforeEach(() => {
    seen.length = 0;
  });

  const berth = (argv: string[], extra: Partial<CliContext> = {}) =>
    runBerth(argv, env, { now: () => Date.now(), ...extra });

  it("save -o FILE writes the archive the server streams, with the token", async () => {
    const out = join(env.dir, "saved.tar");
    const r = await berth(["save", "-o", out, "--node", "node-1", "busybox", "app:1"]);
    expect(r).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(sha(readFileSync(out))).toBe(sha(ARCHIVE));
    expect(seen[0]).toMatchObject({
      method: "GET",
      path: "/api/images/save",
      query: [
        ["ref", "busybox"],
        ["ref", "app:1"],
        ["node", "node-1"],
      ],
      auth: "Bearer berth_x",
    });
  });

  it("save writes to a non-terminal stdout, and refuses a terminal like docker", async () => {
    const got: Buffer[] = [];
    const stdout = { write: (b: Buffer | string) => (got.push(Buffer.from(b)), true) };
    const r = await berth(["save", "busybox"], { stdout: stdout as CliContext["stdout"] });
    expect(r.code).toBe(0);
    expect(sha(Buffer.concat(got))).toBe(sha(ARCHIVE));
    const tty = await berth(["save", "busybox"], {
      stdout: { write: () => true, isTTY: true },
    });
    expect(tty.code).toBe(2);
    expect(tty.stderr).toContain("refusing to write an image archive to a terminal");
    expect(seen).toHaveLength(1);
  });

  it("save of an unknown image fails with the server's message and leaves no file", async () => {
    const out = join(env.dir, "none.tar");
    const r = await berth(["save", "-o", out, "nothere"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('berth: image "nothere" not found on this node');
    expect(existsSync(out)).toBe(false);
  });

  it("load -i FILE sends the file as application/x-tar and prints what was loaded", async () => {
    const file = join(env.dir, "in.tar");
    writeFileSync(file, ARCHIVE);
    const r = await berth(["load", "-i", file]);
    expect(r).toEqual({
      code: 0,
      stdout: `Loaded image: busybox:latest\nLoaded image ID: ${DIGEST}\n`,
      stderr: "",
    });
    expect(seen[0]).toMatchObject({
      method: "POST",
      path: "/api/images/load",
      type: "application/x-tar",
      auth: "Bearer berth_x",
    });
    expect(sha(seen[0]!.body)).toBe(sha(ARCHIVE));
  });

  it("load reads stdin without -i and shows progress on a terminal", async () => {
    let stderr = "";
    const r = await berth(["load"], {
      stdin: Readable.from([ARCHIVE.subarray(0, 300_000), ARCHIVE.subarray(300_000)]),
      stderr: { write: (s: string) => (stderr += s), isTTY: true },
    });
    expect(r.code).toBe(0);
    expect(sha(seen[0]!.body)).toBe(sha(ARCHIVE));
    expect(stderr.endsWith("\rLoading 700kB\u001b[K\n")).toBe(true);
  });

  it("image import sends ref and --change lines and prints the digest", async () => {
    const file = join(env.dir, "rootfs.tar");
    writeFileSync(file, ARCHIVE.subarray(0, 10_240));
    const r = await berth([
      "image",
      "import",
      "--change",
      'CMD ["sh"]',
      "-c",
      "ENV A=1",
      file,
      "example/rootfs:1",
    ]);
    expect(r).toEqual({ code: 0, stdout: `${DIGEST}\n`, stderr: "" });
    expect(seen[0]!.query).toEqual([
      ["ref", "example/rootfs:1"],
      ["change", 'CMD ["sh"]'],
      ["change", "ENV A=1"],
    ]);
    expect(seen[0]!.body.length).toBe(10_240);
    const bad = await berth(["image", "import", "-c", "RUN rm -rf /", file, "x:1"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--change supports CMD, ENTRYPOINT, ENV and WORKDIR, not RUN");
    expect(seen).toHaveLength(1);
  });
});
