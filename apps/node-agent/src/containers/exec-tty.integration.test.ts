/**
 * Root integration tests of interactive `container.exec` on the real kernel: runc exec --tty in
 * the foreground under a node-pty terminal, and the stdin pipe of `exec -i` without a tty, in a
 * running busybox container. The process sees a tty of the requested size, a resize reaches it,
 * keystrokes (Ctrl-C included) go through the container's line discipline, EOF ends `cat`, exit
 * codes come back, and cancelling kills the exec'd process. Input goes through the same
 * StreamInputBuffer the protocol client uses. afterAll removes every container, mount and dir.
 */
import { CommandSchemas, type CommandParams, type CommandParamsInput } from "@berth/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StreamInputBuffer } from "../control/stream-input";
import { ContainerService } from "./container-service";
import {
  cgroupPids,
  cmdline,
  removeAllAndClose,
  removeStateDir,
  rootOrCi,
  runParams,
  tempStateDir,
  waitFor,
} from "./testing/integration-fixture";

const ENABLED = rootOrCi(
  "interactive exec integration tests need root (namespaces, cgroups, mounts)",
  process.env.CI === "true",
);
const stateDir = tempStateDir("berth-exec-tty-it-", ENABLED);
let svc: ContainerService | undefined;
let runningId = "";
let runningPid = 0;

function execParams(
  p: Omit<CommandParamsInput<"container.exec">, "containerId">,
): CommandParams<"container.exec"> {
  return CommandSchemas["container.exec"].params.parse({ containerId: runningId, ...p });
}

/**
 * A running exec whose output accumulates in `out`; `input` feeds it like stream_input frames.
 * Commands whose last output is checked end with `sleep 0.1`: the last bytes written right
 * before a tty exec ends can be lost (≈0.3–0.7 % of very short runs, see runtime-exec-tty.ts),
 * which is not what these tests are about.
 */
function startExec(p: Omit<CommandParamsInput<"container.exec">, "containerId">) {
  const ac = new AbortController();
  const input = new StreamInputBuffer();
  const s = { out: "", stderr: "", input, ac, done: undefined as unknown as Promise<unknown> };
  const done = svc!
    .exec(
      execParams(p),
      ac.signal,
      (c) => {
        s.out += c.stdout ?? "";
        s.stderr += c.stderr ?? "";
      },
      input,
    )
    .finally(() => input.close());
  done.catch(() => undefined);
  s.done = done;
  return {
    ...s,
    /**
     * The output with runc's early "\r\r\n" (see runtime-exec-tty.ts: ONLCR is cleared on the
     * container's pty only after the process started) written as the "\r\n" a terminal shows.
     */
    get out() {
      return s.out.replaceAll("\r\r\n", "\r\n");
    },
    get stderr() {
      return s.stderr;
    },
    type: (text: string) => input.push({ data: Buffer.from(text) }),
    done,
    /** Waits until the output matches `re`; returns the match. */
    expectOutput: (re: RegExp, what = String(re)) =>
      waitFor(`output ${what} (got ${JSON.stringify(s.out.slice(-200))})`, () => {
        const m = re.exec(s.out.replaceAll("\r\r\n", "\r\n"));
        return m ?? undefined;
      }),
  };
}

describe.skipIf(!ENABLED)("interactive container.exec on runc (root)", () => {
  beforeAll(async () => {
    svc = await ContainerService.create({ stateDir });
    const st = await svc.run(runParams("exec-tty", { command: ["sleep", "3600"] }));
    expect(st.state).toBe("running");
    runningId = st.id;
    runningPid = st.pid!;
  });

  afterAll(async () => {
    await removeAllAndClose(svc);
    removeStateDir(stateDir);
  });

  it("-t: the process sees a terminal of the requested size, TERM=xterm, output merged", async () => {
    const e = startExec({
      argv: [
        "sh",
        "-c",
        'tty; test -t 0 && echo stdin-is-tty; test -t 1 && echo stdout-is-tty; stty size; echo "TERM=$TERM"; echo to-stderr >&2; sleep 0.1',
      ],
      tty: true,
      size: { cols: 100, rows: 30 },
    });
    expect(await e.done).toEqual({ exitCode: 0, cancelled: false });
    expect(e.out).toMatch(/^\/dev\/pts\/\d+\r\n/);
    expect(e.out).toContain("stdin-is-tty\r\n");
    expect(e.out).toContain("stdout-is-tty\r\n");
    expect(e.out).toContain("30 100\r\n");
    expect(e.out).toContain("TERM=xterm\r\n");
    expect(e.out).toContain("to-stderr\r\n");
    expect(e.stderr).toBe("");
  });

  it("-it: a resize reaches the process; typed commands run; exit code returned", async () => {
    const e = startExec({
      argv: ["sh"],
      tty: true,
      interactive: true,
      size: { cols: 90, rows: 20 },
    });
    e.type("stty size\r");
    await e.expectOutput(/\r\n20 90\r\n/);
    e.input.push({ resize: { cols: 132, rows: 43 } });
    e.type("stty size\r");
    await e.expectOutput(/\r\n43 132\r\n/);
    e.type("exit 5\r");
    expect(await e.done).toEqual({ exitCode: 5, cancelled: false });
  });

  it("-it: stdin reaches cat through the container's pty (echo + output); ^D ends it with 0", async () => {
    const e = startExec({ argv: ["cat"], tty: true, interactive: true });
    e.type("hello pty\r");
    // the container's pty echoes the line, then cat writes it back
    await e.expectOutput(/hello pty\r\nhello pty\r\n/);
    e.input.push({ eof: true });
    expect(await e.done).toEqual({ exitCode: 0, cancelled: false });
  });

  it("-it: Ctrl-C typed at once kills cat by SIGINT (130), through the container's pty", async () => {
    const e = startExec({ argv: ["cat"], tty: true, interactive: true });
    // typed before runc is ready: held until runc has put our pty in raw mode
    e.type("\x03");
    expect(await e.done).toEqual({ exitCode: 130, cancelled: false });
    // the container's line discipline echoes it (echoctl): it was a byte, not a signal to runc
    expect(e.out).toContain("^C");
  });

  it("-it: ^C arrives as the byte 0x03 (runc is not signalled) when the process turns isig off", async () => {
    const e = startExec({
      argv: ["sh", "-c", "stty -isig -icanon; echo ready; head -c 1 | od -An -tx1; sleep 0.1"],
      tty: true,
      interactive: true,
    });
    await e.expectOutput(/ready\r\n/);
    e.type("\x03");
    expect(await e.done).toEqual({ exitCode: 0, cancelled: false });
    expect(e.out).toMatch(/\b03\b/);
  });

  it("-t: the exit code of sh -c 'exit 7' is 7", async () => {
    const e = startExec({ argv: ["sh", "-c", "exit 7"], tty: true });
    expect(await e.done).toEqual({ exitCode: 7, cancelled: false });
  });

  it("-t without -i: data is not forwarded (stdin stays silent), resizes are", async () => {
    const e = startExec({
      argv: ["sh", "-c", "echo up; sleep 0.5; stty size; read -t 1 x || echo no-input; sleep 0.1"],
      tty: true,
    });
    await e.expectOutput(/up\r\n/);
    e.input.push({ resize: { cols: 61, rows: 17 }, data: Buffer.from("typed\r") });
    expect(await e.done).toEqual({ exitCode: 0, cancelled: false });
    expect(e.out).toContain("17 61\r\n");
    expect(e.out).toContain("no-input");
    expect(e.out).not.toContain("typed");
  });

  it("cancelling a tty exec kills the exec'd process (gone from the container's cgroup)", async () => {
    const e = startExec({
      argv: ["sh", "-c", "echo started; exec sleep 8888"],
      tty: true,
      interactive: true,
    });
    await e.expectOutput(/started/);
    const sleeper = await waitFor("sleep in the cgroup", () =>
      cgroupPids(runningPid).find((p) => cmdline(p) === "sleep 8888"),
    );
    e.ac.abort();
    expect(await e.done).toEqual({ exitCode: null, cancelled: true });
    await waitFor("sleep gone", () =>
      cgroupPids(runningPid).includes(sleeper) ? undefined : true,
    );
    expect(cgroupPids(runningPid)).toContain(runningPid);
  });

  it("-i without a tty: stdin is a pipe; data in several pieces, EOF ends cat with 0", async () => {
    const e = startExec({
      argv: ["sh", "-c", "test -t 0 || echo not-a-tty >&2; cat; echo done"],
      interactive: true,
    });
    // sent before the process exists: kept in order and delivered
    e.type("hi\n");
    e.type("second ");
    e.input.push({ data: Buffer.from("line\n"), eof: true });
    expect(await e.done).toEqual({ exitCode: 0, cancelled: false });
    expect(e.out).toBe("hi\nsecond line\ndone\n");
    expect(e.stderr).toBe("not-a-tty\n");
  });

  it("-i without a tty: binary bytes pass through unchanged (wc -c counts them)", async () => {
    const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const e = startExec({ argv: ["wc", "-c"], interactive: true });
    e.input.push({ data: bytes, eof: true });
    expect(await e.done).toEqual({ exitCode: 0, cancelled: false });
    expect(e.out.trim()).toBe("256");
  });
});
