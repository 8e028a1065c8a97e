/**
 * Root integration tests of `container.exec` on the real kernel (runc exec into a running busybox
 * container): streamed stdout/stderr and exit code, -u, -w, -e, a missing command, refusals on a
 * stopped container and under /proc, and cancel killing the exec'd process (gone from the
 * container's pids cgroup). Own temp state dir; afterAll removes every container, mount and dir.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CommandSchemas,
  newContainerId,
  type CommandParams,
  type CommandParamsInput,
} from "@berth/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ContainerService } from "./container-service";
import { cgroupPids, cmdline } from "./testing/integration-fixture";

const IS_ROOT = process.getuid?.() === 0;
const IN_CI = process.env.CI === "true";
if (!IS_ROOT && !IN_CI)
  console.warn("SKIPPED: exec integration tests need root (namespaces, cgroups, mounts)");

const stateDir = IS_ROOT || IN_CI ? mkdtempSync(join(tmpdir(), "berth-exec-it-")) : "";
let svc: ContainerService;
let runningId = "";
let runningPid = 0;

let n = 0;
async function runContainer(command: string[]) {
  const p: CommandParamsInput<"container.run"> = {
    containerId: newContainerId(),
    name: `exec-${process.pid}-${n++}`,
    spec: { image: "busybox", command, env: ["FROM_SPEC=spec"] },
  };
  return svc.run(CommandSchemas["container.run"].params.parse(p));
}

function execParams(
  containerId: string,
  p: Omit<CommandParamsInput<"container.exec">, "containerId">,
): CommandParams<"container.exec"> {
  return CommandSchemas["container.exec"].params.parse({ containerId, ...p });
}

async function execCollect(
  p: CommandParams<"container.exec">,
  signal = new AbortController().signal,
) {
  let stdout = "";
  let stderr = "";
  const r = await svc.exec(p, signal, (c) => {
    stdout += c.stdout ?? "";
    stderr += c.stderr ?? "";
  });
  return { ...r, stdout, stderr };
}

async function waitFor<T>(what: string, fn: () => T | undefined | Promise<T | undefined>) {
  const end = Date.now() + 20_000;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe.skipIf(!IS_ROOT && !IN_CI)("container.exec on runc (root)", () => {
  beforeAll(async () => {
    svc = await ContainerService.create({ stateDir });
    const st = await runContainer(["sh", "-c", "while true; do sleep 0.2; done"]);
    expect(st.state).toBe("running");
    runningId = st.id;
    runningPid = st.pid!;
  });

  afterAll(async () => {
    if (svc) {
      for (const c of svc.list())
        await svc.remove({ containerId: c.id, force: true }).catch(() => undefined);
      await svc.close();
    }
    if (stateDir) {
      for (const l of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
        const mp = l.split(" ")[4];
        if (mp?.startsWith(stateDir)) console.error(`leftover mount ${mp}`);
      }
      rmSync(stateDir, { recursive: true, force: true });
    }
  });

  it("streams stdout and stderr and returns the exit code", async () => {
    const r = await execCollect(
      execParams(runningId, { argv: ["sh", "-c", "echo out; echo err >&2; exit 3"] }),
    );
    expect(r).toEqual({ exitCode: 3, cancelled: false, stdout: "out\n", stderr: "err\n" });
  });

  it("-u nobody runs as uid 65534; the container's default is root", async () => {
    const nobody = await execCollect(execParams(runningId, { argv: ["id", "-u"], user: "nobody" }));
    expect(nobody).toMatchObject({ exitCode: 0, stdout: "65534\n" });
    const root = await execCollect(execParams(runningId, { argv: ["id", "-u"] }));
    expect(root).toMatchObject({ exitCode: 0, stdout: "0\n" });
    await expect(
      execCollect(execParams(runningId, { argv: ["id"], user: "nosuchuser" })),
    ).rejects.toThrow(/unable to find user nosuchuser/);
  });

  it("-w sets the cwd; /proc is refused", async () => {
    const r = await execCollect(execParams(runningId, { argv: ["pwd"], workingDir: "/tmp" }));
    expect(r).toMatchObject({ exitCode: 0, stdout: "/tmp\n" });
    await expect(
      execCollect(execParams(runningId, { argv: ["pwd"], workingDir: "/proc/1" })),
    ).rejects.toThrow(/under \/proc/);
  });

  it("-e adds to (and overrides) the container's env", async () => {
    const r = await execCollect(
      execParams(runningId, {
        argv: ["sh", "-c", 'echo "$FOO $FROM_SPEC $PATH"'],
        env: ["FOO=bar", "PATH=/bin"],
      }),
    );
    expect(r).toMatchObject({ exitCode: 0, stdout: "bar spec /bin\n" });
  });

  it("a missing command is refused with exit code 127 semantics", async () => {
    await expect(
      execCollect(execParams(runningId, { argv: ["no-such-command"] })),
    ).rejects.toMatchObject({
      kind: "invalid_input",
      message: 'executable file not found in $PATH: "no-such-command"',
      details: { exitCode: 127 },
    });
  });

  it("refuses a container that is not running", async () => {
    const st = await runContainer(["true"]);
    await waitFor("exit", () => (svc.inspect(st.id).state === "exited" ? true : undefined));
    await expect(execCollect(execParams(st.id, { argv: ["true"] }))).rejects.toMatchObject({
      kind: "invalid_state",
      message: `container ${st.id.slice(0, 12)} is not running`,
    });
  });

  it("detach starts the process and returns at once, without output", async () => {
    const r = await execCollect(
      execParams(runningId, { argv: ["sh", "-c", "echo hidden; exec sleep 6666"], detach: true }),
    );
    expect(r).toEqual({ exitCode: null, cancelled: false, stdout: "", stderr: "" });
    const pid = await waitFor("detached sleep in the cgroup", () =>
      cgroupPids(runningPid).find((p) => cmdline(p) === "sleep 6666"),
    );
    process.kill(pid, "SIGKILL"); // ours: started by this test
    await waitFor("detached sleep gone", () =>
      cgroupPids(runningPid).includes(pid) ? undefined : true,
    );
  });

  it("cancel kills the exec'd process (gone from the container's cgroup)", async () => {
    const ac = new AbortController();
    let out = "";
    const done = svc.exec(
      execParams(runningId, { argv: ["sh", "-c", "echo started; exec sleep 7777"] }),
      ac.signal,
      (c) => {
        out += c.stdout ?? "";
      },
    );
    await waitFor("started", () => (out.includes("started") ? true : undefined));
    const sleeper = await waitFor("sleep in the cgroup", () =>
      cgroupPids(runningPid).find((p) => cmdline(p) === "sleep 7777"),
    );
    ac.abort();
    expect(await done).toEqual({ exitCode: null, cancelled: true });
    await waitFor("sleep gone", () =>
      cgroupPids(runningPid).includes(sleeper) ? undefined : true,
    );
    expect(cgroupPids(runningPid)).toContain(runningPid);
  });

  it("a cancel right after the start still kills the process", async () => {
    for (let i = 0; i < 3; i++) {
      const ac = new AbortController();
      const done = svc.exec(
        execParams(runningId, { argv: ["sleep", `555${i}`] }),
        ac.signal,
        () => undefined,
      );
      setTimeout(() => ac.abort(), i * 15);
      expect(await done).toMatchObject({ exitCode: null, cancelled: true });
      await waitFor("no sleep left", () =>
        cgroupPids(runningPid).some((p) => cmdline(p) === `sleep 555${i}`) ? undefined : true,
      );
    }
  });
});
