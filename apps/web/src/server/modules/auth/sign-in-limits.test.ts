/**
 * Sign-in limits under concurrency, with real argon2 and a real (in-memory) database: attempts
 * count as failures from the moment they start, so a burst of parallel guesses gets no more
 * tries than a sequential one.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createCaller } from "../../root";
import { addUser, contextFor, createFixture, type Fixture } from "../../testing/fixtures";
import { ACCOUNT_FREE_FAILURES, LoginLimiter } from "./login-limiter";

describe("sign-in limits", () => {
  let f: Fixture;
  beforeEach(async () => {
    f = await createFixture();
  });
  afterEach(async () => {
    await f.close();
  });

  it("concurrent wrong passwords: only the free failures reach the password check", async () => {
    await addUser(f, "carol", { password: "secret-pass-1" });
    const c = createCaller(contextFor(f, {}));
    const outcomes = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        c.auth.login({ username: "carol", password: `wrong-${i}` }).then(
          () => "ok",
          (e: Error) => (/too many failed sign-ins/.test(e.message) ? "limited" : "wrong"),
        ),
      ),
    );
    expect(outcomes.filter((o) => o === "wrong")).toHaveLength(ACCOUNT_FREE_FAILURES);
    expect(outcomes.filter((o) => o === "limited")).toHaveLength(20 - ACCOUNT_FREE_FAILURES);
    // The right password waits too, now.
    await expect(c.auth.login({ username: "carol", password: "secret-pass-1" })).rejects.toThrow(
      /too many failed sign-ins/,
    );
  });

  it("a successful attempt withdraws its reservation; a failed one keeps it", () => {
    let now = 1_000_000;
    const l = new LoginLimiter(() => now);
    for (let i = 0; i < 30; i++) {
      const r = l.reserve(`user${i}`, "10.0.0.1");
      expect(r.allowed).toBe(true);
      l.settle(`user${i}`, "10.0.0.1", r.at!, "success");
      now += 1;
    }
    // 30 successes from one address do not block it.
    expect(l.check("someone", "10.0.0.1").allowed).toBe(true);
    const r = l.reserve("dave", "10.0.0.2");
    l.settle("dave", "10.0.0.2", r.at!, "not_failure");
    for (let i = 0; i < ACCOUNT_FREE_FAILURES; i++) {
      const a = l.reserve("erin", "10.0.0.3");
      // In flight: already counted.
      expect(a.allowed).toBe(true);
    }
    expect(l.check("erin", "10.0.0.3")).toMatchObject({ allowed: false, scope: "account" });
    expect(l.check("dave", "10.0.0.2").allowed).toBe(true);
  });
});
