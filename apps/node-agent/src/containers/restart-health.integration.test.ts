/**
 * Root integration tests of restart policies on the real kernel (runc + conmon). Each service
 * uses its own temp state dir; afterAll removes every container, mount and dir, even on failure.
 */
import { type CommandParamsInput, type ContainerStatus, type LogLine } from "@berth/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ContainerService } from "./container-service";
import {
  allLogs,
  removeAllAndClose,
  removeStateDir,
  rootOrCi,
  runParams as busyboxParams,
  tempStateDir,
  waitFor,
} from "./testing/integration-fixture";

const ENABLED = rootOrCi(
  "restart policy integration tests need root (namespaces, cgroups, mounts)",
  process.env.CI === "true",
);

const dirs: string[] = [];
const services: ContainerService[] = [];
function tempDir(): string {
  const d = tempStateDir("berth-restart-it-", true);
  dirs.push(d);
  return d;
}

async function open(stateDir: string): Promise<ContainerService> {
  const s = await ContainerService.create({ stateDir });
  services.push(s);
  return s;
}

function runParams(command: string[], spec: Partial<CommandParamsInput<"container.run">["spec"]>) {
  return busyboxParams("rs", { command, ...spec });
}

/** Lets a time pass in which a wrongly scheduled restart would have happened. */
const quietFor = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The `container.started` statuses the service emitted, per container. */
function recordStarts(s: ContainerService): Map<string, ContainerStatus[]> {
  const starts = new Map<string, ContainerStatus[]>();
  s.onEvent((name, data) => {
    if (name !== "container.started") return;
    const st = data as ContainerStatus;
    starts.set(st.id, [...(starts.get(st.id) ?? []), st]);
  });
  return starts;
}

describe.skipIf(!ENABLED)("restart policies on runc + conmon (root)", () => {
  let svc: ContainerService;
  let starts: Map<string, ContainerStatus[]>;

  beforeAll(async () => {
    svc = await open(tempDir());
    starts = recordStarts(svc);
  });

  afterAll(async () => {
    for (const s of services) await removeAllAndClose(s);
    for (const d of dirs) removeStateDir(d);
  });

  it("on-failure:2 restarts exactly twice, then stays exited with restartCount 2", async () => {
    const p = runParams(["sh", "-c", "echo attempt; exit 3"], {
      restartPolicy: { name: "on-failure", maximumRetryCount: 2 },
    });
    await svc.run(p);
    const final = await waitFor("two restarts and a final exit", () => {
      const st = svc.inspect(p.containerId);
      return st.state === "exited" && st.restartCount === 2 ? st : undefined;
    });
    expect(final.exitCode).toBe(3);
    // a third restart would come 400 ms after the exit
    await quietFor(1500);
    const after = svc.inspect(p.containerId);
    expect(after).toMatchObject({ state: "exited", restartCount: 2, exitCode: 3 });
    expect(starts.get(p.containerId)?.map((s) => s.restartCount)).toEqual([0, 1, 2]);
    // the log survives restarts: one line per run
    const lines = await allLogs(svc, p.containerId);
    expect(lines.map((l) => l.line)).toEqual(["attempt", "attempt", "attempt"]);
  });

  it("on-failure does not restart a zero exit", async () => {
    const p = runParams(["true"], { restartPolicy: { name: "on-failure" } });
    await svc.run(p);
    await waitFor("exit", () => (svc.inspect(p.containerId).state === "exited" ? 1 : undefined));
    await quietFor(500);
    expect(svc.inspect(p.containerId)).toMatchObject({ state: "exited", restartCount: 0 });
  });

  it("always restarts after exit 0, with a growing backoff, until a user stop", async () => {
    const p = runParams(["true"], { restartPolicy: { name: "always" } });
    await svc.run(p);
    await waitFor(
      "five restarts",
      () => ((starts.get(p.containerId)?.length ?? 0) >= 6 ? true : undefined),
      120_000,
    );
    const runs = starts.get(p.containerId)!.slice(0, 6);
    // Each restart's status still carries the previous run's exit time: exit → next start is at
    // least the backoff, 100, 200, 400, 800, 1600 ms.
    const waited = runs.slice(1).map((s) => Date.parse(s.startedAt!) - Date.parse(s.finishedAt!));
    // (Lower bounds only: the time to create and reap `true` adds to each wait, and varies
    // with the machine's load, so upper bounds or gap comparisons would be flaky.)
    waited.forEach((ms, i) => expect(ms).toBeGreaterThanOrEqual(100 * 2 ** i));

    await svc.stop({ containerId: p.containerId, timeoutSeconds: 5 });
    const stopped = svc.inspect(p.containerId);
    await waitFor("exited", () => (svc.inspect(p.containerId).state === "exited" ? 1 : undefined));
    // the next backoff would be 3.2 s; the stop cancelled it
    await quietFor(4000);
    const after = svc.inspect(p.containerId);
    expect(after.state).toBe("exited");
    expect(after.restartCount).toBe(stopped.restartCount);
  }, 180_000);

  it("a user stop of a running container does not restart it", async () => {
    const p = runParams(["sleep", "1000"], { restartPolicy: { name: "always" } });
    await svc.run(p);
    const st = await svc.stop({ containerId: p.containerId, timeoutSeconds: 0 });
    expect(st.state).toBe("exited");
    await quietFor(1000);
    expect(svc.inspect(p.containerId)).toMatchObject({ state: "exited", restartCount: 0 });
  });

  it("a healthcheck that passes makes the container healthy", async () => {
    const events: ContainerStatus[] = [];
    const off = svc.onEvent((name, data) => {
      if (name === "container.health_status") events.push(data as ContainerStatus);
    });
    const p = runParams(["sleep", "1000"], {
      healthcheck: {
        test: ["CMD-SHELL", "echo ok from $HOSTNAME; test -d /proc/1"],
        intervalMs: 200,
      },
    });
    try {
      await svc.run(p);
      expect(svc.inspect(p.containerId).health).toMatchObject({
        status: "starting",
        failingStreak: 0,
      });
      const healthy = await waitFor("healthy", () => {
        const h = svc.inspect(p.containerId).health;
        return h?.status === "healthy" ? h : undefined;
      });
      expect(healthy.log[0]).toMatchObject({ exitCode: 0 });
      expect(healthy.log[0]!.output).toMatch(/^ok from /);
      expect(events.map((e) => [e.id, e.health?.status])).toContainEqual([
        p.containerId,
        "healthy",
      ]);
    } finally {
      off();
    }
  });

  it("a failing healthcheck turns unhealthy after `retries` failures; a timeout fails", async () => {
    const failing = runParams(["sleep", "1000"], {
      healthcheck: {
        test: ["CMD", "sh", "-c", "echo nope >&2; exit 1"],
        intervalMs: 100,
        retries: 3,
      },
    });
    const slow = runParams(["sleep", "1000"], {
      healthcheck: { test: ["CMD", "sleep", "10"], intervalMs: 100, timeoutMs: 300, retries: 1 },
    });
    await svc.run(failing);
    await svc.run(slow);
    const h = await waitFor("unhealthy", () => {
      const x = svc.inspect(failing.containerId).health;
      return x?.status === "unhealthy" ? x : undefined;
    });
    expect(h.failingStreak).toBe(3);
    expect(h.log.map((l) => [l.exitCode, l.output])).toEqual(Array(3).fill([1, "nope\n"]));
    const t = await waitFor("unhealthy by timeout", () => {
      const x = svc.inspect(slow.containerId).health;
      return x?.status === "unhealthy" ? x : undefined;
    });
    expect(t.log[0]).toMatchObject({
      exitCode: -1,
      output: "Health check exceeded timeout (300ms)",
    });
    const took = Date.parse(t.log[0]!.end) - Date.parse(t.log[0]!.start);
    expect(took).toBeGreaterThanOrEqual(300);
    expect(took).toBeLessThan(5000);
    await svc.stop({ containerId: slow.containerId, timeoutSeconds: 0 });
    await svc.stop({ containerId: failing.containerId, timeoutSeconds: 0 });
  });

  it("filters real logs by since/until/tail and keeps stdout and stderr apart", async () => {
    const p = runParams(["sh", "-c", "echo a; sleep 0.3; echo b >&2; sleep 0.3; echo c"], {});
    await svc.run(p);
    await waitFor("exit", () => (svc.inspect(p.containerId).state === "exited" ? 1 : undefined));
    const all = await allLogs(svc, p.containerId);
    expect(all.map((l) => `${l.stream}:${l.line}`)).toEqual(["stdout:a", "stderr:b", "stdout:c"]);
    const b = all[1]!.ts;
    const text = (ls: LogLine[]) => ls.map((l) => l.line);
    expect(text(await allLogs(svc, p.containerId, { since: b }))).toEqual(["b", "c"]);
    expect(text(await allLogs(svc, p.containerId, { until: b }))).toEqual(["a", "b"]);
    expect(text(await allLogs(svc, p.containerId, { since: b, until: b }))).toEqual(["b"]);
    expect(text(await allLogs(svc, p.containerId, { tail: 1 }))).toEqual(["c"]);
    expect(text(await allLogs(svc, p.containerId, { tail: 2, until: b }))).toEqual(["b"]);
  });

  it("after an agent restart, `always` starts again and `unless-stopped` stays stopped", async () => {
    const dir = tempDir();
    const first = await open(dir);
    const always = runParams(["sleep", "1000"], { restartPolicy: { name: "always" } });
    const unless = runParams(["sleep", "1000"], { restartPolicy: { name: "unless-stopped" } });
    await first.run(always);
    await first.run(unless);
    await first.stop({ containerId: always.containerId, timeoutSeconds: 0 });
    await first.stop({ containerId: unless.containerId, timeoutSeconds: 0 });
    await first.close();
    services.splice(services.indexOf(first), 1);

    const second = await open(dir);
    const restarted = await waitFor("the always container to run again", () => {
      const st = second.inspect(always.containerId);
      return st.state === "running" ? st : undefined;
    });
    expect(restarted.restartCount).toBe(1);
    expect(restarted.pid).toBeGreaterThan(0);
    await quietFor(500);
    expect(second.inspect(unless.containerId)).toMatchObject({ state: "exited", restartCount: 0 });
  });
});
