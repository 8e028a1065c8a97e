import { describe, expect, it } from "vitest";
import { Backoff, sleep } from "./backoff";
import { LruMap } from "./lru";

describe("Backoff", () => {
  it("doubles from initialMs to maxMs with jitter in [d/2, d], and resets", () => {
    const hi = new Backoff({ initialMs: 500, maxMs: 30_000, random: () => 1 });
    expect(Array.from({ length: 9 }, () => hi.next())).toEqual([
      500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000,
    ]);
    hi.reset();
    expect(hi.next()).toBe(500);
    const lo = new Backoff({ initialMs: 500, maxMs: 30_000, random: () => 0 });
    expect([lo.next(), lo.next()]).toEqual([250, 500]);
  });

  it("sleep rejects with the abort reason", async () => {
    const ac = new AbortController();
    const p = sleep(10_000, ac.signal);
    ac.abort(new Error("stop"));
    await expect(p).rejects.toThrow("stop");
  });
});

describe("LruMap", () => {
  it("evicts the least recently used key", () => {
    const m = new LruMap<string, number>(2);
    m.set("a", 1);
    m.set("b", 2);
    expect(m.get("a")).toBe(1); // a is now the most recent
    m.set("c", 3);
    expect(m.has("b")).toBe(false);
    expect(m.get("a")).toBe(1);
    expect(m.get("c")).toBe(3);
    expect(m.size).toBe(2);
  });
});
