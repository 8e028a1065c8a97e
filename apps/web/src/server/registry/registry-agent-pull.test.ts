/**
 * A real berth-agent (apps/node-agent/src/main.ts, its own process, joined with a one-time
 * token) pulls an image pushed to berth-server's registry, with NO stored team credential: the
 * server sends `{onBehalfOfTeam}` for its own registry, the agent authenticates to the token
 * endpoint with its node credential and gets the team's pull right. The pull is audited as the
 * node for the team; another team's image is refused. Needs root (the agent's engine); in CI it
 * must run, elsewhere it is skipped without root.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { newId } from "@berth/core";
import { nodes, registryCredentials, teams, users, type Db } from "@berth/db";
import { createTestDb } from "@berth/db/test-helpers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AgentGateway } from "../agents/gateway";
import { bootstrapDatabase } from "../bootstrap";
import { createHttpApp } from "../http-app";
import { createServices, type Services } from "../services";
import { ADMIN_PASSWORD, quietLogger } from "../testing/fixtures";
import { fetchToken } from "../testing/registry-server";
import { listenApp, type TestServer } from "../testing/test-server";
import { OCI_MANIFEST, ociManifest, sha } from "../testing/oci";
import { registryFromDataDir } from "./registry.http";

const REPO_ROOT = resolve(__dirname, "../../../../..");
const AGENT_MAIN = join(REPO_ROOT, "apps/node-agent/src/main.ts");
const isRoot = process.getuid?.() === 0;
if (!isRoot && process.env.CI === "true")
  throw new Error("registry-agent-pull.test.ts must run in CI: the agent's engine needs root");
if (!isRoot) console.warn("SKIPPED registry-agent-pull.test.ts: the agent's engine needs root");

/** Pushes a one-layer OCI image (a real tar) over `/v2/` with the admin's token. */
async function pushImage(url: string, repo: string): Promise<string> {
  const { token } = await fetchToken(url, { user: "admin", password: ADMIN_PASSWORD }, [
    `repository:${repo}:pull,push`,
  ]);
  // A one-file tar: 512-byte header + data padded to 512 + two zero blocks.
  const data = randomBytes(1000);
  const header = Buffer.alloc(512);
  header.write("hello.bin", 0);
  header.write("0000644\0", 100);
  header.write("0000000\0", 108);
  header.write("0000000\0", 116);
  header.write(`${data.length.toString(8).padStart(11, "0")}\0`, 124);
  header.write("00000000000\0", 136);
  header.write("        ", 148);
  header.write("0", 156);
  header.write("ustar\0", 257);
  header.write("00", 263);
  let sum = 0;
  for (const b of header) sum += b;
  header.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148);
  const pad = Buffer.alloc((512 - (data.length % 512)) % 512);
  const layer = Buffer.concat([header, data, pad, Buffer.alloc(1024)]);
  const config = Buffer.from(
    JSON.stringify({
      architecture: "amd64",
      os: "linux",
      config: { Cmd: ["/hello.bin"] },
      rootfs: { type: "layers", diff_ids: [sha(layer)] },
    }),
  );
  for (const b of [layer, config]) {
    const r = await fetch(`${url}/v2/${repo}/blobs/uploads/?digest=${sha(b)}`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}` },
      body: new Uint8Array(b),
    });
    expect(r.status).toBe(201);
  }
  const manifest = ociManifest(config, [layer]);
  const r = await fetch(`${url}/v2/${repo}/manifests/1`, {
    method: "PUT",
    headers: { authorization: `Bearer ${token}`, "content-type": OCI_MANIFEST },
    body: new Uint8Array(manifest),
  });
  expect(r.status).toBe(201);
  return sha(manifest);
}

async function waitFor<T>(what: string, ms: number, probe: () => T | undefined): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe.skipIf(!isRoot)("a real agent pulls from berth-server's registry", () => {
  let db: Db;
  let gateway: AgentGateway;
  let services: Services;
  let server: TestServer | undefined;
  let host: string;
  let url: string;
  let dataDir: string;
  let stateDir: string;
  let agent: ChildProcess | undefined;
  let agentLog = "";
  let agentExited: Promise<void> = Promise.resolve();
  let adminId: string;
  let defaultTeamId: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), "berth-reg-agent-server-"));
    stateDir = mkdtempSync(join(tmpdir(), "berth-reg-agent-state-"));
    db = createTestDb();
    const boot = await bootstrapDatabase(db, {
      adminUser: "admin",
      adminPassword: ADMIN_PASSWORD,
    });
    defaultTeamId = boot.defaultTeamId;
    adminId = db.select().from(users).get()!.id;
    gateway = new AgentGateway({ db, serverId: "regagentserver0000000000a", logger: quietLogger });
    server = await listenApp((base) => {
      host = base;
      url = `http://${host}`;
      // The server's public URL is where the agent connects: its registry host is "itself".
      const registry = registryFromDataDir(dataDir, url);
      services = createServices({
        db,
        gateway,
        publicUrl: url,
        version: "test",
        registryStorage: registry.storage,
      });
      return createHttpApp({
        db,
        gateway,
        services,
        serverId: "regagentserver0000000000a",
        defaultTeamId,
        secureCookies: false,
        registry,
      });
    });
    const { token } = services.joinTokens.create(adminId, 600);
    agent = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        AGENT_MAIN,
        "--server",
        url,
        "--join-token",
        token,
        "--state-dir",
        stateDir,
        "--network-prefix",
        "off",
        "--node-name",
        "reg-agent",
        "--log-level",
        "info",
      ],
      { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] },
    );
    const onLog = (b: Buffer) => {
      agentLog = (agentLog + b.toString("utf8")).slice(-64 * 1024);
    };
    agent.stdout?.on("data", onLog);
    agent.stderr?.on("data", onLog);
    const child = agent;
    agentExited = new Promise((r) => child.once("exit", () => r()));
    await waitFor("the agent to connect", 90_000, () => {
      if (child.exitCode !== null) throw new Error(`the agent exited:\n${agentLog.slice(-3000)}`);
      const n = db.select().from(nodes).get();
      return n?.status === "online" ? n : undefined;
    });
  }, 120_000);

  afterAll(async () => {
    if (agent?.pid !== undefined && agent.exitCode === null && agent.signalCode === null) {
      process.kill(agent.pid, "SIGTERM");
      const timer = new Promise<"t">((r) => setTimeout(() => r("t"), 20_000));
      if ((await Promise.race([agentExited, timer])) === "t") {
        process.kill(agent.pid, "SIGKILL");
        await agentExited;
      }
    }
    await server?.close();
    await gateway?.close();
    db?.$client.close();
    // Nothing of the agent's stays mounted under its state dir (it ran no container).
    const mounted = readFileSync("/proc/self/mountinfo", "utf8")
      .split("\n")
      .filter((l) => stateDir && l.split(" ")[4]?.startsWith(stateDir));
    expect(mounted).toEqual([]);
    rmSync(stateDir, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
  }, 60_000);

  async function pull(ref: string, teamId = defaultTeamId) {
    const chunks = [];
    for await (const c of services.images.transfer(
      { id: adminId, username: "admin", teamId },
      { kind: "pull", input: { ref } },
      services.audit,
      "127.0.0.1",
    ))
      chunks.push(c);
    return chunks;
  }

  it("pulls with the node credential on behalf of the team, no stored credential", async () => {
    const digest = await pushImage(url, "default/app");
    expect(db.select().from(registryCredentials).all()).toEqual([]);
    const chunks = await pull(`${host}/default/app:1`);
    const last = chunks[chunks.length - 1]!;
    expect(last.digest).toBe(digest);
    expect(last.nodeName).toBe("reg-agent");
    const pulls = services.audit
      .recent(50)
      .filter((e) => e.action === "registry.pull" && e.result === "ok");
    expect(pulls).toHaveLength(1);
    expect(pulls[0]!.actorName).toBe("node:reg-agent");
    expect(pulls[0]!.teamId).toBe(defaultTeamId);
    expect(pulls[0]!.target).toBe(`default/app@${digest}`);
    expect(pulls[0]!.params).toMatchObject({ onBehalfOfTeam: "default" });
    // The node has it now.
    const images = await gateway.send(db.select().from(nodes).get()!.id, "image.list", {});
    expect(JSON.stringify(images)).toContain(digest);
  }, 60_000);

  it("is refused another team's image: the team's rights, not the node's", async () => {
    const otherTeamId = newId();
    db.insert(teams).values({ id: otherTeamId, name: "other" }).run();
    await pushImage(url, "other/secret");
    await expect(pull(`${host}/other/secret:1`)).rejects.toThrow(
      /node reg-agent may not pull other\/secret for team default/,
    );
    // The same pull on behalf of the owning team works.
    const chunks = await pull(`${host}/other/secret:1`, otherTeamId);
    expect(chunks[chunks.length - 1]!.digest).toMatch(/^sha256:/);
  }, 60_000);
});
