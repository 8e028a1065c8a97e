import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { RegistryCredentials } from "./credentials";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "berth-creds-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("RegistryCredentials", () => {
  it("keeps credentials per registry in a 0600 file, never listing secrets", async () => {
    const c = RegistryCredentials.forStateDir(dir);
    expect(await c.get("reg.example.com")).toBeUndefined();
    await c.set("reg.example.com:5000", { username: "alice", password: "pw1" });
    await c.set("index.docker.io", { identityToken: "refresh-token" });
    expect(statSync(c.path).mode & 0o777).toBe(0o600);
    expect(await c.get("reg.example.com:5000")).toEqual({ username: "alice", password: "pw1" });
    expect(await c.get("docker.io")).toEqual({ identityToken: "refresh-token" });
    const listed = await c.list();
    expect(listed.map((l) => [l.registry, l.username])).toEqual([
      ["docker.io", undefined],
      ["reg.example.com:5000", "alice"],
    ]);
    expect(JSON.stringify(listed)).not.toMatch(/pw1|refresh-token/);
    expect(await c.remove("reg.example.com:5000")).toBe(true);
    expect(await c.remove("reg.example.com:5000")).toBe(false);
    expect(await c.get("reg.example.com:5000")).toBeUndefined();
    // A fresh instance reads the same file.
    expect(await RegistryCredentials.forStateDir(dir).get("docker.io")).toBeDefined();
  });

  it("validates registry names and credentials", async () => {
    const c = RegistryCredentials.forStateDir(dir);
    await expect(c.set("bad host/x", { username: "a", password: "b" })).rejects.toThrow();
    await expect(c.set("reg.io", { username: "", password: "b" } as never)).rejects.toMatchObject({
      kind: "invalid_input",
    });
  });

  it("reports a malformed file clearly", async () => {
    const c = RegistryCredentials.forStateDir(dir);
    await c.set("reg.io", { username: "a", password: "b" });
    const { writeFileSync } = await import("node:fs");
    writeFileSync(c.path, JSON.stringify({ version: 1, registries: { x: { nope: 1 } } }));
    await expect(c.get("reg.io")).rejects.toThrow(/malformed/);
    expect(readFileSync(c.path, "utf8")).toContain("nope");
  });
});
