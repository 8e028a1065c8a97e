/**
 * The browser terminal's input path: what xterm.js hands us (keys, pastes, resizes) goes to
 * `containers.execInput` with one call in flight at a time; what queues meanwhile goes in the
 * next call (≤ 64 KiB of data each, base64), and only the latest resize is kept — the same
 * discipline as the CLI's `exec -it` (apps/cli/src/commands/exec-input.ts).
 */

/** Largest decoded payload of one execInput call (protocol MAX_STREAM_INPUT_BYTES). */
export const MAX_INPUT_BYTES = 64 * 1024;

export interface TerminalSize {
  cols: number;
  rows: number;
}

export type InputMessage = { data: string } | { resize: TerminalSize };

/** Base64 of `bytes` (the browser has no Buffer). */
export function bytesToBase64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(s);
}

export class TerminalInputQueue {
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private resize: TerminalSize | undefined;
  private inFlight = false;
  private closed = false;
  /** Held until the session exists (keys and resizes before it are sent once it does). */
  private held: boolean;
  private readonly encoder = new TextEncoder();

  constructor(
    private readonly send: (m: InputMessage) => Promise<unknown>,
    private readonly onError: (e: unknown) => void,
    opts: { held?: boolean } = {},
  ) {
    this.held = opts.held ?? false;
  }

  /** Starts sending (a queue made with `held: true`), what queued meanwhile first. */
  release(): void {
    this.held = false;
    this.pump();
  }

  /** Text typed or pasted into the terminal. */
  write(text: string): void {
    if (this.closed || text.length === 0) return;
    const b = this.encoder.encode(text);
    this.pending.push(b);
    this.pendingBytes += b.length;
    this.pump();
  }

  /** A new terminal size; only the latest unsent one is sent. */
  setSize(size: TerminalSize): void {
    if (this.closed) return;
    this.resize = size;
    this.pump();
  }

  close(): void {
    this.closed = true;
    this.pending = [];
    this.pendingBytes = 0;
    this.resize = undefined;
  }

  private next(): InputMessage | undefined {
    if (this.resize) {
      const r = this.resize;
      this.resize = undefined;
      return { resize: r };
    }
    if (this.pendingBytes === 0) return undefined;
    const all = new Uint8Array(this.pendingBytes);
    let o = 0;
    for (const p of this.pending) {
      all.set(p, o);
      o += p.length;
    }
    const take = all.subarray(0, MAX_INPUT_BYTES);
    const rest = all.subarray(take.length);
    this.pending = rest.length > 0 ? [rest] : [];
    this.pendingBytes = rest.length;
    return { data: bytesToBase64(take) };
  }

  private pump(): void {
    if (this.inFlight || this.closed || this.held) return;
    const m = this.next();
    if (!m) return;
    this.inFlight = true;
    this.send(m)
      .catch((e: unknown) => {
        if (!this.closed) this.onError(e);
      })
      .finally(() => {
        this.inFlight = false;
        this.pump();
      });
  }
}
