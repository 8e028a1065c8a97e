import { describe, expect, it } from "vitest";
import { unmaskedTransport } from "./agent-client";

describe("unmaskedTransport", () => {
  it("skips WebSocket masking only over TLS or loopback", () => {
    expect(unmaskedTransport("wss://berth.example.com/api/agent")).toBe(true);
    expect(unmaskedTransport("ws://127.0.0.1:3000/api/agent")).toBe(true);
    expect(unmaskedTransport("ws://127.3.4.5:3000/")).toBe(true);
    expect(unmaskedTransport("ws://localhost:3000/")).toBe(true);
    expect(unmaskedTransport("ws://[::1]:3000/")).toBe(true);
    expect(unmaskedTransport("ws://10.0.0.5:3000/")).toBe(false);
    expect(unmaskedTransport("ws://berth.example.com/")).toBe(false);
    expect(unmaskedTransport("ws://127.0.0.1.example.com/")).toBe(false);
  });
});
