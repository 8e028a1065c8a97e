/**
 * Root integration tests of the lifecycle verbs on the real kernel (runc + conmon + the cgroup
 * freezer): create → start → pause → unpause → kill -s → restart → stop → rename, the refusals of
 * invalid moves, and a paused container surviving an agent restart. Own temp state dir; afterAll
 * removes every container, mount and dir, also when a test failed.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import {
  CommandSchemas,
  newContainerId,
  type CommandParamsInput,
  type ContainerStatus,
  type EventName,
} from "@berth/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildBusyboxImage } from "../images/busybox-seed";
import { ImageStore } from "../images/image-store";
import { ContainerService } from "./container-service";
import {
  logText as readText,
  removeAllAndClose,
  removeStateDir,
  rootOrCi,
  tempStateDir,
  waitFor,
} from "./testing/integration-fixture";

const ENABLED = rootOrCi(
  "lifecycle integration tests need root (namespaces, cgroups, mounts)",
  process.env.CI === "true",
);

const stateDir = tempStateDir("berth-lc-", ENABLED);
let svc: ContainerService;
const events: { name: EventName; id: string; state?: string }[] = [];

/** A shell that reports USR1, exits 143 on TERM and otherwise idles. */
const TRAPPER = [
  "sh",
  "-c",
  'trap "echo got-usr1" USR1; trap "exit 143" TERM; echo ready; while true; do sleep 0.2; done',
];

let n = 0;
function createParams(command: string[]) {
  const p: CommandParamsInput<"container.create"> = {
    containerId: newContainerId(),
    name: `lc-${process.pid}-${n++}`,
    spec: { image: "busybox", command },
  };
  return CommandSchemas["container.create"].params.parse(p);
}

const logText = (id: string) => readText(svc, id);

const count = (text: string, word: string) => text.split("\n").filter((l) => l === word).length;

/** The process state letter from /proc/<pid>/status (R, S, D, T…). */
function procState(pid: number): string {
  return /^State:\s+(\S)/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? "?";
}

function invalid(message: string) {
  return expect.objectContaining({ kind: "invalid_state", message });
}

describe.skipIf(!ENABLED)("container lifecycle verbs on runc (root)", () => {
  beforeAll(async () => {
    svc = await ContainerService.create({ stateDir });
    svc.onEvent((name, data) =>
      events.push({ name, id: data.id, state: "state" in data ? data.state : undefined }),
    );
  });

  afterAll(async () => {
    await removeAllAndClose(svc);
    removeStateDir(stateDir);
  });

  it("create → start → pause → unpause → kill -s USR1 → restart → stop → rename", async () => {
    const p = createParams(TRAPPER);
    const id = p.containerId;
    const short = id.slice(0, 12);

    const created = await svc.create(p);
    expect(created.state).toBe("created");
    expect(created.startedAt).toBeNull();
    expect(events).toContainEqual({ name: "container.created", id, state: "created" });
    expect(await logText(id)).toBe(""); // created: the command has not run
    await expect(svc.pause({ containerId: id })).rejects.toThrow(
      invalid(`cannot pause container ${short}: it is created`),
    );

    const started = await svc.start({ containerId: id });
    expect(started.state).toBe("running");
    expect(started.pid).toBeGreaterThan(0);
    expect(started.startedAt).not.toBeNull();
    await waitFor("ready", async () => ((await logText(id)).includes("ready") ? true : undefined));
    await expect(svc.start({ containerId: id })).rejects.toThrow(
      invalid(`cannot start container ${short}: it is running`),
    );
    await expect(svc.unpause({ containerId: id })).rejects.toThrow(
      invalid(`cannot unpause container ${short}: it is running`),
    );

    // pause: the freezer freezes every process
    const paused = await svc.pause({ containerId: id });
    expect(paused.state).toBe("paused");
    expect(paused.pid).toBe(started.pid);
    expect(await svc.freezerState(id)).toBe("FROZEN");
    expect(procState(started.pid!)).toMatch(/^[DT]$/);
    expect(events).toContainEqual({ name: "container.paused", id, state: "paused" });
    await expect(svc.pause({ containerId: id })).rejects.toThrow(
      invalid(`cannot pause container ${short}: it is paused`),
    );
    await expect(svc.start({ containerId: id })).rejects.toThrow(
      invalid(`cannot start container ${short}: it is paused`),
    );
    await expect(svc.update({ containerId: id, limits: { pidsLimit: 50 } })).rejects.toThrow(
      /it is paused/,
    );

    const unpaused = await svc.unpause({ containerId: id });
    expect(unpaused.state).toBe("running");
    expect(await svc.freezerState(id)).toBe("THAWED");
    expect(events).toContainEqual({ name: "container.unpaused", id, state: "running" });

    // kill -s USR1: the trap reports it and the container keeps running
    const killed = await svc.kill({ containerId: id, signal: "usr1" });
    expect(killed.state).toBe("running");
    await waitFor("the USR1 trap", async () =>
      (await logText(id)).includes("got-usr1") ? true : undefined,
    );
    await expect(svc.kill({ containerId: id, signal: "SIGNOPE" })).rejects.toThrow(
      /invalid signal "SIGNOPE"/,
    );

    // restart: stop (TERM → exit 143) and start again, with a new process
    const restarted = await svc.restart({ containerId: id, timeoutSeconds: 10 });
    expect(restarted.state).toBe("running");
    expect(restarted.pid).toBeGreaterThan(0);
    expect(restarted.pid).not.toBe(started.pid);
    expect(restarted.restartCount).toBe(0); // a user restart is not a policy restart
    await waitFor("ready twice", async () =>
      count(await logText(id), "ready") === 2 ? true : undefined,
    );

    const stopped = await svc.stop({ containerId: id, timeoutSeconds: 10 });
    expect(stopped.state).toBe("exited");
    expect(stopped.exitCode).toBe(143);
    for (const action of ["pause", "unpause", "kill"] as const) {
      await expect(svc[action]({ containerId: id, signal: "KILL" })).rejects.toThrow(
        invalid(`cannot ${action} container ${short}: it is exited`),
      );
    }

    // rename: in any state, refused when the name is taken
    const other = await svc.create(createParams(["true"]));
    const renamed = await svc.rename({ containerId: id, name: `${p.name}-renamed` });
    expect(renamed.name).toBe(`${p.name}-renamed`);
    expect(svc.inspect(id).name).toBe(`${p.name}-renamed`);
    await expect(svc.rename({ containerId: id, name: other.name })).rejects.toThrow(
      expect.objectContaining({ kind: "conflict" }),
    );
    await svc.remove({ containerId: other.id, force: true });
    await svc.remove({ containerId: id, force: false });
  });

  it("starts a created container whose exit code is then recorded, and starts it again", async () => {
    const p = createParams(["sh", "-c", "echo run; exit 7"]);
    await svc.create(p);
    await svc.start({ containerId: p.containerId });
    const exitedOnce = await waitFor("the first exit", () => {
      const st = svc.inspect(p.containerId);
      return st.state === "exited" ? st : undefined;
    });
    expect(exitedOnce.exitCode).toBe(7);
    const again = await svc.start({ containerId: p.containerId });
    expect(["running", "exited"]).toContain(again.state);
    const exitedTwice = await waitFor("the second exit", async () => {
      const st = svc.inspect(p.containerId);
      return st.state === "exited" && count(await logText(p.containerId), "run") === 2
        ? st
        : undefined;
    });
    expect(exitedTwice.exitCode).toBe(7);
    await svc.remove({ containerId: p.containerId, force: false });
    expect(existsSync(svc.pathsOf(p.containerId).dir)).toBe(false);
  });

  it("kill (SIGKILL by default) ends a paused container", async () => {
    const p = createParams(TRAPPER);
    await svc.create(p);
    await svc.start({ containerId: p.containerId });
    await svc.pause({ containerId: p.containerId });
    const killed = await svc.kill(
      CommandSchemas["container.kill"].params.parse({ containerId: p.containerId }),
    );
    expect(killed.state).toBe("exited");
    expect(killed.exitCode).toBe(137);
    await svc.remove({ containerId: p.containerId, force: false });

    // remove -f of a paused container kills and thaws it, leaving nothing behind
    const q = createParams(TRAPPER);
    await svc.create(q);
    await svc.start({ containerId: q.containerId });
    await svc.pause({ containerId: q.containerId });
    await expect(svc.remove({ containerId: q.containerId, force: false })).rejects.toThrow(
      /it is paused; stop it first or use force/,
    );
    expect(await svc.remove({ containerId: q.containerId, force: true })).toEqual({
      removed: true,
    });
    expect(existsSync(svc.pathsOf(q.containerId).dir)).toBe(false);
  });

  it("stop sends the image's StopSignal (here SIGUSR2) before SIGTERM/SIGKILL", async () => {
    // busybox with `STOPSIGNAL SIGUSR2`: same layers, a config that names the stop signal
    const img = await buildBusyboxImage();
    const config = JSON.parse(img.config.toString("utf8")) as { config?: Record<string, unknown> };
    config.config = { ...config.config, StopSignal: "SIGUSR2" };
    const configBuf = Buffer.from(JSON.stringify(config));
    const manifest = JSON.parse(img.manifest.toString("utf8")) as {
      config: { digest: string; size: number };
    };
    manifest.config = {
      ...manifest.config,
      digest: `sha256:${createHash("sha256").update(configBuf).digest("hex")}`,
      size: configBuf.length,
    };
    const store = await ImageStore.open(stateDir);
    await store.importImage("busybox-stopsig", {
      manifest: Buffer.from(JSON.stringify(manifest)),
      config: configBuf,
      layers: img.layers,
    });

    const p = CommandSchemas["container.create"].params.parse({
      containerId: newContainerId(),
      name: `lc-${process.pid}-stopsig`,
      spec: {
        image: "busybox-stopsig",
        command: [
          "sh",
          "-c",
          'trap "echo got-usr2; exit 12" USR2; echo ready; while true; do sleep 0.2; done',
        ],
      },
    });
    await svc.create(p);
    await svc.start({ containerId: p.containerId });
    await waitFor("ready", async () =>
      (await logText(p.containerId)).includes("ready") ? true : undefined,
    );
    const stopped = await svc.stop({ containerId: p.containerId, timeoutSeconds: 20 });
    expect(stopped.exitCode).toBe(12);
    expect(await logText(p.containerId)).toContain("got-usr2");
    await svc.remove({ containerId: p.containerId, force: false });
  });

  it("keeps paused and created containers as they were across an agent restart", async () => {
    const pp = createParams(TRAPPER);
    await svc.create(pp);
    const running: ContainerStatus = await svc.start({ containerId: pp.containerId });
    await svc.pause({ containerId: pp.containerId });
    const cp = createParams(["echo", "late"]);
    const created = await svc.create(cp);

    await svc.close();
    svc = await ContainerService.create({ stateDir });

    const adopted = svc.inspect(pp.containerId);
    expect(adopted.state).toBe("paused");
    expect(adopted.pid).toBe(running.pid);
    expect(await svc.freezerState(pp.containerId)).toBe("FROZEN");
    expect((await svc.unpause({ containerId: pp.containerId })).state).toBe("running");

    const stillCreated = svc.inspect(cp.containerId);
    expect(stillCreated.state).toBe("created");
    expect(stillCreated.pid).toBe(created.pid);
    await svc.start({ containerId: cp.containerId });
    await waitFor("the created container to run", async () =>
      (await logText(cp.containerId)).includes("late") ? true : undefined,
    );
    await svc.remove({ containerId: pp.containerId, force: true });
    await svc.remove({ containerId: cp.containerId, force: true });
  });
});
