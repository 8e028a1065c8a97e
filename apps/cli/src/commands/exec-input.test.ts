/**
 * The pieces of `berth exec -i/-t` that need no server: the input pump (one call in flight,
 * what queues meanwhile merged in order, 64 KiB per call, resizes collapsed, first failure
 * stops it) and the raw-mode guard (restored once, on exit and on SIGTERM/SIGHUP, re-raising).
 */
import { describe, expect, it } from "vitest";
import { enterRawMode, InputPump, type InputMessage, type SignalHost } from "./exec-input";

const decode = (m: InputMessage) => ({
  ...m,
  ...(m.data !== undefined ? { data: Buffer.from(m.data, "base64").toString() } : {}),
});

/** A pump whose sends resolve only when the test says so. */
function manualPump(maxBytes?: number) {
  const sent: InputMessage[] = [];
  const releases: (() => void)[] = [];
  const errors: unknown[] = [];
  const pump = new InputPump(
    (m) => {
      sent.push(m);
      return new Promise<void>((r) => releases.push(r));
    },
    (e) => errors.push(e),
    maxBytes,
  );
  const release = async () => {
    releases.shift()?.();
    await new Promise((r) => setImmediate(r));
  };
  return { pump, sent, release, errors };
}

describe("InputPump", () => {
  it("keeps one call in flight and merges what queued meanwhile, in order", async () => {
    const { pump, sent, release } = manualPump();
    pump.data("a");
    pump.data("b");
    pump.resize({ cols: 10, rows: 5 });
    pump.resize({ cols: 20, rows: 6 });
    pump.data("c");
    pump.data("d");
    pump.eof();
    expect(sent.map(decode)).toEqual([{ data: "a" }]);
    await release();
    // "b" was queued before the resizes: it goes alone, then resize (latest) + data + eof
    expect(sent.map(decode)).toEqual([{ data: "a" }, { data: "b" }]);
    await release();
    expect(sent.map(decode).at(-1)).toEqual({
      resize: { cols: 20, rows: 6 },
      data: "cd",
      eof: true,
    });
    await release();
    await pump.idle();
    expect(sent).toHaveLength(3);
  });

  it("splits data into calls of at most maxBytes, bytes intact", async () => {
    const { pump, sent, release } = manualPump(4);
    pump.data("x");
    pump.data(Buffer.from([0, 1, 2, 3, 4, 5, 0xff]));
    pump.data("yz");
    while (sent.length < 4) await release();
    expect(sent.map((m) => [...Buffer.from(m.data!, "base64")])).toEqual([
      [0x78],
      [0, 1, 2, 3],
      [4, 5, 0xff, 0x79],
      [0x7a],
    ]);
  });

  it("stops at the first failure and reports it once; stop() drops the queue", async () => {
    const errors: unknown[] = [];
    let calls = 0;
    const pump = new InputPump(
      async () => {
        calls++;
        throw new Error("boom");
      },
      (e) => errors.push(e),
    );
    pump.data("1");
    pump.data("2");
    await pump.idle();
    pump.data("3");
    await pump.idle();
    expect(calls).toBe(1);
    expect(errors).toEqual([new Error("boom")]);

    const m = manualPump();
    m.pump.data("a");
    m.pump.data("b");
    m.pump.stop();
    await m.release();
    await m.pump.idle();
    expect(m.sent.map(decode)).toEqual([{ data: "a" }]);
    expect(m.errors).toEqual([]);
  });
});

function fakeHost() {
  const listeners = new Map<string, Set<() => void>>();
  const killed: string[] = [];
  const host: SignalHost = {
    pid: 4242,
    on(ev, fn) {
      if (!listeners.has(ev)) listeners.set(ev, new Set());
      listeners.get(ev)!.add(fn);
    },
    off(ev, fn) {
      listeners.get(ev)?.delete(fn);
    },
    kill(pid, sig) {
      killed.push(`${pid}:${sig}`);
    },
  };
  const emit = (ev: string) => [...(listeners.get(ev) ?? [])].forEach((fn) => fn());
  const count = () => [...listeners.values()].reduce((n, s) => n + s.size, 0);
  return { host, emit, killed, count };
}

describe("enterRawMode", () => {
  it("sets raw mode and restores it once; listeners removed", () => {
    const calls: boolean[] = [];
    const h = fakeHost();
    const restore = enterRawMode({ isTTY: true, setRawMode: (b) => calls.push(b) }, h.host);
    expect(calls).toEqual([true]);
    expect(h.count()).toBe(3);
    restore();
    restore();
    h.emit("exit");
    expect(calls).toEqual([true, false]);
    expect(h.count()).toBe(0);
  });

  it("restores on process exit, and on SIGTERM / SIGHUP before re-raising the signal", () => {
    for (const [ev, sig] of [
      ["exit", undefined],
      ["SIGTERM", "SIGTERM"],
      ["SIGHUP", "SIGHUP"],
    ] as const) {
      const calls: boolean[] = [];
      const h = fakeHost();
      enterRawMode({ isTTY: true, setRawMode: (b) => calls.push(b) }, h.host);
      h.emit(ev);
      expect(calls).toEqual([true, false]);
      expect(h.killed).toEqual(sig ? [`4242:${sig}`] : []);
      expect(h.count()).toBe(0);
    }
  });

  it("does nothing when stdin is not a terminal", () => {
    const calls: boolean[] = [];
    const h = fakeHost();
    enterRawMode({ isTTY: false, setRawMode: (b) => calls.push(b) }, h.host)();
    expect(calls).toEqual([]);
    expect(h.count()).toBe(0);
  });
});
