/**
 * The agent's end of an upload (`image.load`, `image.import`): the server sends the archive in
 * `stream_input` frames; this Readable hands their bytes to the engine in order. Flow control:
 * `onConsumed(total)` is called each time the engine has taken another `ackEvery` bytes (and at
 * the end); the server sends at most a window ahead of the last acknowledgement, so the queue
 * stays small. A server that ignores the window (queue past `maxQueuedBytes`) fails the stream.
 */
import { Readable } from "node:stream";
import { DomainError, type StreamInput } from "@berth/core";

export class UploadStream extends Readable {
  private readonly queue: Buffer[] = [];
  private queuedBytes = 0;
  private eof = false;
  private finished = false;
  private wanting = false;
  private consumed = 0;
  private reported = 0;
  /** StreamInputBuffer's flag, for the client's routing code: never set here (we fail instead). */
  readonly overflowed = false;

  constructor(
    private readonly onConsumed: (total: number) => void,
    private readonly o: { ackEvery: number; maxQueuedBytes: number },
  ) {
    super({ highWaterMark: 256 * 1024 });
  }

  /** Bytes the engine has taken so far. */
  get received(): number {
    return this.consumed;
  }

  /** One `stream_input` frame (resizes are ignored: uploads have no terminal). */
  accept(input: StreamInput): void {
    if (this.finished || this.destroyed) return;
    if (input.data && input.data.byteLength > 0) {
      if (this.eof) {
        this.destroy(new DomainError("invalid_input", "upload data after its end"));
        return;
      }
      this.queuedBytes += input.data.byteLength;
      if (this.queuedBytes > this.o.maxQueuedBytes) {
        this.destroy(
          new DomainError(
            "invalid_input",
            `the server sent more than ${this.o.maxQueuedBytes} bytes ahead of the agent`,
          ),
        );
        return;
      }
      this.queue.push(Buffer.from(input.data));
    }
    if (input.eof) this.eof = true;
    this.pump();
  }

  override _read(): void {
    this.wanting = true;
    this.pump();
  }

  private pump(): void {
    while (this.wanting && this.queue.length > 0) {
      const b = this.queue.shift()!;
      this.queuedBytes -= b.length;
      this.consumed += b.length;
      this.wanting = this.push(b);
    }
    if (this.consumed - this.reported >= this.o.ackEvery) this.report();
    if (this.eof && this.queue.length === 0 && !this.finished) {
      this.finished = true;
      this.push(null);
      this.report();
    }
  }

  private report(): void {
    if (this.consumed === this.reported) return;
    this.reported = this.consumed;
    this.onConsumed(this.consumed);
  }
}
