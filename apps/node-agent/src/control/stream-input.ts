/**
 * The input side of one interactive stream (`container.exec` with -i/-t): `stream_input` frames
 * are pushed here in arrival order and handed to the engine once it attaches (the runtime
 * attaches when the process can take input). Until then they are kept, up to `maxBufferedBytes`
 * of data; past that, data is dropped and `overflowed` is set (the server sends input faster than
 * the process is started). After `close` (the stream ended) everything is ignored.
 */
import type { StreamInput, StreamInputSource } from "@berth/core";

export class StreamInputBuffer implements StreamInputSource {
  private pending: StreamInput[] = [];
  private pendingBytes = 0;
  private sink: ((input: StreamInput) => void) | undefined;
  private closed = false;
  overflowed = false;

  constructor(private readonly maxBufferedBytes = 1024 * 1024) {}

  push(input: StreamInput): void {
    if (this.closed) return;
    if (this.sink) {
      this.sink(input);
      return;
    }
    const bytes = input.data?.byteLength ?? 0;
    if (this.pendingBytes + bytes > this.maxBufferedBytes) {
      this.overflowed = true;
      if (!input.eof && !input.resize) return;
      const { data: _dropped, ...rest } = input;
      this.pending.push(rest);
      return;
    }
    this.pendingBytes += bytes;
    this.pending.push(input);
  }

  attach(sink: (input: StreamInput) => void): () => void {
    if (this.sink) throw new Error("stream input already attached");
    const queued = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    this.sink = sink;
    for (const i of queued) if (!this.closed) sink(i);
    return () => {
      if (this.sink === sink) this.sink = undefined;
    };
  }

  close(): void {
    this.closed = true;
    this.sink = undefined;
    this.pending = [];
    this.pendingBytes = 0;
  }
}
