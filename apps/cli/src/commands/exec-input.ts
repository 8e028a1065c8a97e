/**
 * The client side of `berth exec -i/-t`: the input pump (stdin bytes, EOF and terminal sizes
 * turned into `containers.execInput` calls, one in flight at a time, batched in order) and the
 * raw-mode guard of the local terminal (restored on every exit path: normal end, error, signal,
 * process exit). Pure enough to be unit tested without a terminal or a server.
 */
import { MAX_STREAM_INPUT_BYTES, type TerminalSize } from "@berth/core";

/** One `containers.execInput` call's payload (without the session id). */
export interface InputMessage {
  data?: string;
  eof?: true;
  resize?: TerminalSize;
}

type Item =
  { kind: "data"; bytes: Buffer } | { kind: "eof" } | { kind: "resize"; size: TerminalSize };

/**
 * Queues input and sends it with `send`, one call at a time: what accumulates while a call is
 * in flight goes out in the next one (data up to MAX_STREAM_INPUT_BYTES per call, consecutive
 * resizes collapsed to the latest). A message applies resize → data → eof, so merging keeps
 * the order. The first failure stops the pump and is passed to `onError`.
 */
export class InputPump {
  private readonly queue: Item[] = [];
  private sending = false;
  private stopped = false;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly send: (m: InputMessage) => Promise<void>,
    private readonly onError: (e: unknown) => void,
    private readonly maxBytes = MAX_STREAM_INPUT_BYTES,
  ) {}

  data(chunk: Buffer | string): void {
    const bytes = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
    if (bytes.length > 0) this.push({ kind: "data", bytes });
  }

  eof(): void {
    this.push({ kind: "eof" });
  }

  resize(size: TerminalSize): void {
    this.push({ kind: "resize", size });
  }

  /** Drops what is queued and sends nothing more (the stream ended). */
  stop(): void {
    this.stopped = true;
    this.queue.length = 0;
    this.wakeIdle();
  }

  /** Resolves once everything queued so far was sent (or the pump stopped). */
  idle(): Promise<void> {
    if (!this.sending && this.queue.length === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  private push(item: Item): void {
    if (this.stopped) return;
    this.queue.push(item);
    void this.pump();
  }

  /** The next message from the front of the queue (removing what it takes). */
  private takeMessage(): InputMessage | undefined {
    if (this.queue.length === 0) return undefined;
    const m: InputMessage = {};
    while (this.queue[0]?.kind === "resize") {
      m.resize = (this.queue.shift() as Extract<Item, { kind: "resize" }>).size;
    }
    const parts: Buffer[] = [];
    let n = 0;
    while (this.queue[0]?.kind === "data" && n < this.maxBytes) {
      const d = this.queue[0];
      const room = this.maxBytes - n;
      if (d.bytes.length <= room) {
        parts.push(d.bytes);
        n += d.bytes.length;
        this.queue.shift();
      } else {
        parts.push(d.bytes.subarray(0, room));
        n += room;
        d.bytes = d.bytes.subarray(room);
      }
    }
    if (n > 0) m.data = Buffer.concat(parts, n).toString("base64");
    if (this.queue[0]?.kind === "eof") {
      this.queue.shift();
      m.eof = true;
    }
    return m;
  }

  private async pump(): Promise<void> {
    if (this.sending) return;
    this.sending = true;
    try {
      for (;;) {
        if (this.stopped) break;
        const m = this.takeMessage();
        if (!m) break;
        try {
          await this.send(m);
        } catch (e) {
          if (!this.stopped) {
            this.stop();
            this.onError(e);
          }
          break;
        }
      }
    } finally {
      this.sending = false;
      if (this.queue.length === 0 || this.stopped) this.wakeIdle();
    }
  }

  private wakeIdle(): void {
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const r of w) r();
  }
}

export interface RawModeInput {
  isTTY?: boolean;
  setRawMode?: (raw: boolean) => unknown;
}

/** The bits of `process` the guard uses (injected in tests). */
export interface SignalHost {
  on(event: "SIGTERM" | "SIGHUP" | "exit", listener: () => void): unknown;
  off(event: "SIGTERM" | "SIGHUP" | "exit", listener: () => void): unknown;
  kill(pid: number, signal: NodeJS.Signals): unknown;
  pid: number;
}

/**
 * Puts `stdin` (a terminal) in raw mode: keys, Ctrl-C included, go to the remote process as
 * bytes and nothing is echoed locally. Returns `restore`, idempotent, which the caller runs in
 * a `finally`; the guard also restores on process exit and on SIGTERM/SIGHUP (then re-raises
 * the signal so the CLI still dies of it). A no-op when stdin is not a terminal. `afterRaw`
 * runs once raw mode is on (best effort: its failure is ignored).
 */
export function enterRawMode(
  stdin: RawModeInput,
  host: SignalHost,
  afterRaw?: () => void,
): () => void {
  if (!stdin.isTTY || typeof stdin.setRawMode !== "function") return () => undefined;
  const setRaw = stdin.setRawMode.bind(stdin);
  setRaw(true);
  try {
    afterRaw?.();
  } catch {
    // cosmetic only
  }
  let restored = false;
  const restore = () => {
    if (restored) return;
    restored = true;
    host.off("exit", restore);
    host.off("SIGTERM", onTerm);
    host.off("SIGHUP", onHup);
    try {
      setRaw(false);
    } catch {
      // the terminal went away
    }
  };
  const reraise = (sig: NodeJS.Signals) => {
    restore();
    host.kill(host.pid, sig);
  };
  const onTerm = () => reraise("SIGTERM");
  const onHup = () => reraise("SIGHUP");
  host.on("exit", restore);
  host.on("SIGTERM", onTerm);
  host.on("SIGHUP", onHup);
  return restore;
}
