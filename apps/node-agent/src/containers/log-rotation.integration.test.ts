/**
 * Root integration tests of log rotation (monitor/log-rotation.ts) with real containers: conmon
 * writes, the agent rotates. Each service has its own temp state dir; afterAll removes every
 * container, mount and dir, even on failure.
 */
import { readdirSync, statSync } from "node:fs";
import { dirname } from "node:path";
import type { LogLine } from "@berth/core";
import { afterAll, describe, expect, it } from "vitest";
import { ContainerService } from "./container-service";
import {
  allLogs,
  removeAllAndClose,
  removeStateDir,
  rootOrCi,
  runParams,
  tempStateDir,
  waitExited,
  waitFor,
} from "./testing/integration-fixture";

const ENABLED = rootOrCi(
  "log rotation integration tests need root (namespaces, cgroups, mounts)",
  process.env.CI === "true",
);

const dirs: string[] = [];
const services: ContainerService[] = [];
async function open(stateDir?: string): Promise<ContainerService> {
  const dir = stateDir ?? tempStateDir("berth-logrot-it-", true);
  if (!stateDir) dirs.push(dir);
  const s = await ContainerService.create({ stateDir: dir });
  services.push(s);
  return s;
}

afterAll(async () => {
  for (const s of services) await removeAllAndClose(s).catch(() => undefined);
  for (const d of dirs) removeStateDir(d);
});

/**
 * The numbers the records carry, with conmon's partial (P) records joined to the record that
 * completes them (conmon splits a line that straddles its read buffer).
 */
function numbers(lines: LogLine[]): number[] {
  const out: number[] = [];
  let acc = "";
  for (const l of lines) {
    acc += l.line;
    if (!l.full) continue;
    out.push(Number(acc));
    acc = "";
  }
  return out;
}

/** Asserts n[0..] is a gap-free, duplicate-free run ending at `last`. */
function expectSuffix(n: number[], last: number): void {
  // The oldest kept record may be the second half of a line whose first half (a P record)
  // was rotated out: it is the only one allowed to be out of sequence.
  const s = n.length > 1 && n[1] !== n[0]! + 1 ? n.slice(1) : n;
  expect(s.length).toBeGreaterThan(0);
  expect(s.at(-1)).toBe(last);
  const first = s[0]!;
  expect(s).toEqual(Array.from({ length: s.length }, (_, k) => first + k));
}

const logFilesOf = (logPath: string) =>
  readdirSync(dirname(logPath)).filter((f) => f.startsWith("ctr.log"));

/** Bytes the log files really hold on disk (the rotated part of ctr.log is a hole). */
const diskBytes = (logPath: string) =>
  logFilesOf(logPath).reduce((n, f) => n + statSync(`${dirname(logPath)}/${f}`).blocks * 512, 0);

describe.skipIf(!ENABLED)("log rotation with real containers (root)", () => {
  const MAX_SIZE = 16 * 1024;
  const MAX_FILE = 3;
  const LAST = 100_000; // ≈ 4.8 MB of records: ≈ 290 × max-size

  it("keeps ≤ max-file files, a gap-free suffix ending in the last line; a follower gets every line", async () => {
    const svc = await open();
    const p = runParams("logrot", {
      command: ["sh", "-c", `sleep 1; seq 1 ${LAST}`],
      logConfig: { maxSize: MAX_SIZE, maxFile: MAX_FILE },
    });
    const st = await svc.run(p);
    const logPath = svc.pathsOf(st.id).log;
    // The follower starts before the burst (the container sleeps first).
    const followed: LogLine[] = [];
    const following = svc.logs(
      { containerId: st.id, follow: true },
      new AbortController().signal,
      (l) => followed.push(...l),
    );
    expect(await waitExited(svc, st.id)).toMatchObject({ exitCode: 0 });
    await following;
    expect(numbers(followed)).toEqual(Array.from({ length: LAST }, (_, k) => k + 1));

    // Rotation runs on a timer: wait for the pass after the last write.
    await waitFor("the log to be rotated", () =>
      diskBytes(logPath) <= MAX_FILE * MAX_SIZE + 2 * 4096 ? true : undefined,
    );
    const files = logFilesOf(logPath);
    expect(files.length).toBeLessThanOrEqual(MAX_FILE);
    expect(files.length).toBe(MAX_FILE);
    for (const f of files.filter((x) => x !== "ctr.log"))
      expect(statSync(`${dirname(logPath)}/${f}`).size).toBeLessThanOrEqual(MAX_SIZE);

    const kept = await allLogs(svc, st.id);
    const n = numbers(kept);
    expectSuffix(n, LAST);
    // about max-file × max-size of records (≈ 48 bytes each) are kept
    expect(n.length).toBeGreaterThan(((MAX_FILE - 1) * MAX_SIZE) / 60);
    expect(n.length).toBeLessThanOrEqual((MAX_FILE * MAX_SIZE) / 40);
    // tail counts back across the files
    const tail = numbers(await allLogs(svc, st.id, { tail: n.length - 5 }));
    expectSuffix(tail, LAST);
    expect(tail.length).toBeGreaterThanOrEqual(n.length - 7);
    // since/until select across the files (conmon's timestamps)
    const mid = kept[Math.floor(kept.length / 3)]!.ts;
    const fromMid = await allLogs(svc, st.id, { since: mid });
    expect(fromMid.length).toBeGreaterThanOrEqual(kept.length - Math.floor(kept.length / 3));
    expect(numbers(fromMid).at(-1)).toBe(LAST);

    await svc.remove({ containerId: st.id, force: false });
    expect(() => statSync(dirname(logPath))).toThrow(/ENOENT/);
  });

  it("without log options nothing rotates", async () => {
    const svc = await open();
    const st = await svc.run(runParams("logrot-none", { command: ["seq", "1", "30000"] }));
    await waitExited(svc, st.id);
    const logPath = svc.pathsOf(st.id).log;
    await new Promise((r) => setTimeout(r, 1200)); // two rotation periods
    expect(logFilesOf(logPath)).toEqual(["ctr.log"]);
    expect(readdirSync(dirname(logPath))).not.toContain("log-rotation.json");
    expect(numbers(await allLogs(svc, st.id))).toEqual(
      Array.from({ length: 30_000 }, (_, k) => k + 1),
    );
  });

  it("survives an agent restart: adopted containers keep rotating, nothing is lost", async () => {
    const dir = tempStateDir("berth-logrot-it-", true);
    dirs.push(dir);
    const first = await open(dir);
    const p = runParams("logrot-restart", {
      // writes while the agent is up, while it is down, and after it came back
      command: ["sh", "-c", "seq 1 20000; sleep 2; seq 20001 60000; sleep 2; seq 60001 80000"],
      logConfig: { maxSize: MAX_SIZE, maxFile: MAX_FILE },
    });
    const st = await first.run(p);
    const logPath = first.pathsOf(st.id).log;
    await waitFor("the first burst to be rotated", () =>
      logFilesOf(logPath).length === MAX_FILE ? true : undefined,
    );
    await first.close();
    // down while the container writes ≈ 40000 lines (≈ 120 × max-size)
    await new Promise((r) => setTimeout(r, 3000));
    const second = await open(dir);
    const followed: LogLine[] = [];
    const following = second.logs(
      { containerId: st.id, follow: true, tail: 0 },
      new AbortController().signal,
      (l) => followed.push(...l),
    );
    await waitExited(second, st.id);
    await following;
    expectSuffix(numbers(followed), 80_000);
    await waitFor("the log to be rotated", () =>
      diskBytes(logPath) <= MAX_FILE * MAX_SIZE + 2 * 4096 ? true : undefined,
    );
    expect(logFilesOf(logPath).length).toBeLessThanOrEqual(MAX_FILE);
    expectSuffix(numbers(await allLogs(second, st.id)), 80_000);
  });
});
