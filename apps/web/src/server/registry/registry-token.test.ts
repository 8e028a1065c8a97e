/** Registry tokens: signature, expiry, the key file, scope parsing. */
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadOrCreateTokenKey, parseScopes, TokenSigner } from "./registry-token";

describe("TokenSigner", () => {
  it("verifies its own tokens until they expire (5 min), not another key's", () => {
    let now = 1_800_000_000_000;
    const key = randomBytes(32);
    const s = new TokenSigner(key, () => now);
    const access = [{ type: "repository" as const, name: "team/app", actions: ["pull"] }];
    const { token } = s.sign("user1", access);
    expect(s.verify(token)).toMatchObject({ sub: "user1", access, exp: now / 1000 + 300 });
    expect(new TokenSigner(randomBytes(32), () => now).verify(token)).toBeNull();
    now += 299_000;
    expect(s.verify(token)).not.toBeNull();
    now += 2_000;
    expect(s.verify(token)).toBeNull();
    expect(s.verify("a.b.c")).toBeNull();
    expect(s.verify("not a token")).toBeNull();
  });
});

describe("loadOrCreateTokenKey", () => {
  it("creates a 0600 key once and reads it back", () => {
    const dir = mkdtempSync(join(tmpdir(), "berth-token-key-"));
    try {
      const file = join(dir, "sub", "registry-token.key");
      const a = loadOrCreateTokenKey(file);
      expect(a.length).toBe(32);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(loadOrCreateTokenKey(file).equals(a)).toBe(true);
      expect(readFileSync(file, "utf8").trim()).toBe(a.toString("hex"));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("parseScopes", () => {
  it("parses repository and registry scopes and drops malformed ones", () => {
    expect(
      parseScopes([
        "repository:team/app:pull,push",
        "repository:team/other:*",
        "registry:catalog:*",
        "repository:team/app",
        "bogus:x:pull",
        "repository::pull",
      ]),
    ).toEqual([
      { type: "repository", name: "team/app", actions: ["pull", "push"] },
      { type: "repository", name: "team/other", actions: ["*"] },
      { type: "registry", name: "catalog", actions: ["*"] },
    ]);
    // Several scopes in one parameter, space-separated (as some clients send them).
    expect(parseScopes(["repository:a/b:pull repository:a/c:push"])).toHaveLength(2);
  });
});
