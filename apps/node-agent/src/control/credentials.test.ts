/** Join flow against a real HTTP server on 127.0.0.1 (test-helpers/protocol-server.ts). */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AgentStartupError, credentialPath, ensureCredential, readCredential } from "./credentials";
import { memoryLogger } from "./logger";
import { ProtocolTestServer } from "./test-helpers/protocol-server";

let server: ProtocolTestServer;
let dir: string;
const TOKEN = "join-token-0123456789";
const joined = { nodeId: "n1", nodeName: "host-a", credential: "n1.s3cret", serverId: "srv1" };

beforeEach(async () => {
  server = new ProtocolTestServer();
  await server.listen();
  dir = mkdtempSync(join(tmpdir(), "berth-agent-cred-"));
});
afterEach(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

const opts = (extra: Partial<Parameters<typeof ensureCredential>[0]> = {}) => ({
  stateDir: dir,
  serverUrl: server.url,
  joinToken: TOKEN,
  hostname: "host-a",
  log: memoryLogger(),
  backoff: { initialMs: 20, maxMs: 80 },
  ...extra,
});

describe("ensureCredential", () => {
  it("joins once, stores the credential with mode 0600, and ignores the token afterwards", async () => {
    server.joinHandler = () => ({ status: 200, body: joined });
    const cred = await ensureCredential(opts());
    expect(cred).toEqual({ serverUrl: server.url, ...joined });
    expect(server.joinRequests).toEqual([{ token: TOKEN, hostname: "host-a" }]);
    expect(statSync(credentialPath(dir)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(credentialPath(dir), "utf8"))).toEqual(cred);

    const log = memoryLogger();
    const again = await ensureCredential(opts({ joinToken: "another-token-123456", log }));
    expect(again).toEqual(cred);
    expect(server.joinRequests).toHaveLength(1);
    expect(log.records.some((r) => r.msg.includes("ignoring the join token"))).toBe(true);
  });

  it("fails with exit code 1 and the server's message when the token is refused", async () => {
    server.joinHandler = () => ({
      status: 401,
      body: { error: { kind: "unauthenticated", message: "join token expired" } },
    });
    const err = await ensureCredential(opts()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AgentStartupError);
    expect((err as AgentStartupError).exitCode).toBe(1);
    expect((err as Error).message).toBe(
      `join refused by ${server.url} (HTTP 401): unauthenticated: join token expired`,
    );
    expect(readCredential(dir)).toBeUndefined();
  });

  it("retries on 5xx and on network errors, then joins", async () => {
    let calls = 0;
    server.joinHandler = () =>
      ++calls < 3
        ? { status: 503, body: { error: { kind: "unavailable", message: "starting" } } }
        : { status: 200, body: joined };
    const log = memoryLogger();
    await expect(ensureCredential(opts({ log }))).resolves.toMatchObject({ nodeId: "n1" });
    expect(calls).toBe(3);
    expect(log.records.filter((r) => r.msg === "join: server unavailable, retrying")).toHaveLength(
      2,
    );

    // Network error: nothing listens on the port at first.
    rmSync(credentialPath(dir));
    const port = server.port;
    await server.close();
    const log2 = memoryLogger();
    const pending = ensureCredential(opts({ serverUrl: `http://127.0.0.1:${port}`, log: log2 }));
    // Polled, not a fixed sleep: on a loaded machine two attempts may take longer than a guess.
    await expect
      .poll(
        () => log2.records.filter((r) => r.msg === "join: server unreachable, retrying").length,
        { timeout: 4000 },
      )
      .toBeGreaterThanOrEqual(2);
    server = new ProtocolTestServer();
    server.joinHandler = () => ({ status: 200, body: joined });
    await server.listen(port);
    await expect(pending).resolves.toMatchObject({ serverId: "srv1" });
  });

  it("stops retrying when its signal aborts", async () => {
    server.joinHandler = () => ({ status: 503, body: {} });
    const ac = new AbortController();
    const p = ensureCredential(opts({ signal: ac.signal }));
    setTimeout(() => ac.abort(new Error("stopped by SIGTERM")), 60);
    await expect(p).rejects.toThrow("stopped by SIGTERM");
  });

  it("refuses to start without a credential or a token (exit 2), and on a corrupt credential file (exit 1)", async () => {
    const e1 = await ensureCredential(opts({ joinToken: undefined })).catch((e: unknown) => e);
    expect(e1).toMatchObject({ exitCode: 2 });
    expect((e1 as Error).message).toMatch(/has not joined yet .*--join-token/);
    writeFileSync(credentialPath(dir), "{");
    const e2 = await ensureCredential(opts()).catch((e: unknown) => e);
    expect(e2).toMatchObject({ exitCode: 1 });
    expect((e2 as Error).message).toMatch(/not valid JSON/);
    writeFileSync(credentialPath(dir), JSON.stringify({ nodeId: "x" }));
    await expect(ensureCredential(opts())).rejects.toThrow(/malformed/);
    expect(server.joinRequests).toEqual([]);
  });

  it("rejects a join response that does not match JoinResponseSchema", async () => {
    server.joinHandler = () => ({ status: 200, body: { nodeId: "n1" } });
    await expect(ensureCredential(opts())).rejects.toThrow(/unexpected body/);
    expect(readCredential(dir)).toBeUndefined();
  });
});
