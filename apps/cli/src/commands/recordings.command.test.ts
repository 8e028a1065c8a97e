/**
 * `berth audit recordings` and `berth audit replay` in-process against a tiny server on
 * 127.0.0.1 answering recordings.* with the real @berth/core input schemas (the server side is
 * tested in apps/web: modules/recordings/recordings.test.ts).
 */
import { createServer } from "node:http";
import {
  RecordingGetInputSchema,
  RecordingListInputSchema,
  type AsciicastEvent,
} from "@berth/core";
import { createHTTPHandler } from "@trpc/server/adapters/standalone";
import { TRPCError } from "@trpc/server";
import { beforeEach, describe, expect, it } from "vitest";
import { runBerth, testTrpc, useTestServer } from "../testing/cli-harness";
import { replayEvents } from "./recordings.command";

const started = Date.parse("2026-11-27T20:00:00Z");
const rec = {
  id: "Rk3v2m9xQeW1aB7cD0fG4h",
  teamId: "t1",
  userId: "u1",
  username: "alice",
  containerId: "c".repeat(64),
  containerName: "web",
  nodeId: "n1",
  argv: ["/bin/sh"],
  tty: true,
  width: 100,
  height: 30,
  startedAt: started,
  endedAt: started + 42_000,
  exitCode: 0,
  bytes: 2048,
  truncated: true,
};
const events: AsciicastEvent[] = [
  [0.01, "o", "$ "],
  [0.02, "r", "120x40"],
  [0.03, "o", "echo hi\r\nhi\r\n"],
  [0.04, "m", "truncated"],
];

function startServer() {
  const { t, p, calls } = testTrpc();
  const router = t.router({
    recordings: t.router({
      list: p.input(RecordingListInputSchema).query(() => [rec]),
      get: p.input(RecordingGetInputSchema).query(({ input }) => {
        if (input.id !== rec.id)
          throw new TRPCError({ code: "NOT_FOUND", message: "no recording" });
        return { recording: rec, header: { version: 2, width: 100, height: 30 }, events };
      }),
    }),
  });
  const trpc = createHTTPHandler({ router, basePath: "/api/trpc/" });
  return { server: createServer((req, res) => trpc(req, res)), calls };
}

describe("berth audit recordings / replay", () => {
  const srv = startServer();
  const env = useTestServer(srv.server, "berth-cli-rec-");
  beforeEach(() => {
    srv.calls.length = 0;
  });

  it("recordings prints a table, with the filters sent to the server", async () => {
    const now = started + 3_600_000;
    const r = await runBerth(
      ["audit", "recordings", "--container", "web", "--user", "alice", "-n", "5"],
      env,
      { now: () => now },
    );
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines[0]).toMatch(
      /^ID\s+STARTED\s+DURATION\s+USER\s+CONTAINER\s+COMMAND\s+SIZE\s+EXIT$/,
    );
    expect(lines[1]).toContain(rec.id);
    expect(lines[1]).toMatch(/42s\s+alice\s+web\s+\/bin\/sh/);
    expect(lines[1]).toContain("(truncated)");
    expect(srv.calls.map((c) => c.input)).toEqual([{ limit: 5, container: "web", user: "alice" }]);
  });

  it("recordings --json prints the rows", async () => {
    const r = await runBerth(["audit", "recordings", "--json"], env);
    expect(JSON.parse(r.stdout)).toEqual([rec]);
  });

  it("replay --raw writes the output only; replay plays it and says when it ends", async () => {
    const raw = await runBerth(["audit", "replay", rec.id, "--raw"], env);
    expect(raw).toMatchObject({ code: 0, stdout: "$ echo hi\r\nhi\r\n" });
    const played = await runBerth(["audit", "replay", rec.id, "--speed", "4"], env);
    expect(played.code).toBe(0);
    expect(played.stdout).toBe("$ echo hi\r\nhi\r\n");
    expect(played.stderr).toMatch(/replaying alice@web: \/bin\/sh \(100x30\)/);
    expect(played.stderr).toMatch(/end of recording, truncated/);
  });

  it("replay of an unknown id fails with the server's message; bad flags are usage errors", async () => {
    const r = await runBerth(["audit", "replay", "A".repeat(22)], env);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/no recording/);
    expect((await runBerth(["audit", "replay", rec.id, "--speed", "0"], env)).code).toBe(2);
  });
});

describe("replayEvents", () => {
  it("waits as recorded, divided by speed and capped, and skips resizes and markers", async () => {
    const waits: number[] = [];
    let out = "";
    await replayEvents(
      [
        [0.5, "o", "a"],
        [0.6, "r", "1x1"],
        [10.5, "o", "b"],
        [11.5, "m", "x"],
        [11.5, "o", "c"],
      ],
      (d) => (out += d),
      { speed: 2, maxWaitMs: 2000, sleep: (ms) => (waits.push(ms), Promise.resolve()) },
    );
    expect(out).toBe("abc");
    expect(waits).toEqual([250, 2000, 500]);
  });
});
