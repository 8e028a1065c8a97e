import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isInside, resolveInRoot } from "./path";

let base: string;
let root: string;

beforeAll(() => {
  base = mkdtempSync(join(tmpdir(), "berth-path-"));
  root = join(base, "root");
  mkdirSync(join(root, "bin"), { recursive: true });
  mkdirSync(join(root, "usr/bin"), { recursive: true });
  writeFileSync(join(root, "bin/busybox"), "");
  writeFileSync(join(base, "outside-secret"), "");
  symlinkSync("busybox", join(root, "bin/sh")); // relative
  symlinkSync("/bin/busybox", join(root, "usr/bin/env")); // absolute: relative to the root
  symlinkSync("../../../../../../outside-secret", join(root, "escape-rel"));
  symlinkSync("/../../outside-secret", join(root, "escape-abs"));
  symlinkSync("/etc", join(root, "etc-link")); // host /etc must not be used
  symlinkSync("loop2", join(root, "loop1"));
  symlinkSync("loop1", join(root, "loop2"));
  symlinkSync("usr/bin", join(root, "ubin"));
});

afterAll(() => rmSync(base, { recursive: true, force: true }));

describe("resolveInRoot", () => {
  it("resolves relative symlinks inside the root", async () => {
    expect(await resolveInRoot(root, "/bin/sh")).toBe(join(root, "bin/busybox"));
  });

  it("resolves absolute symlink targets relative to the root, not the host", async () => {
    expect(await resolveInRoot(root, "/usr/bin/env")).toBe(join(root, "bin/busybox"));
    expect(await resolveInRoot(root, "/etc-link/passwd")).toBe(join(root, "etc/passwd"));
  });

  it("clamps .. at the root, in paths and in link targets", async () => {
    expect(await resolveInRoot(root, "../../../outside-secret")).toBe(join(root, "outside-secret"));
    expect(await resolveInRoot(root, "/escape-rel")).toBe(join(root, "outside-secret"));
    expect(await resolveInRoot(root, "/escape-abs")).toBe(join(root, "outside-secret"));
  });

  it("follows a symlinked directory in the middle of a path", async () => {
    expect(await resolveInRoot(root, "ubin/env")).toBe(join(root, "bin/busybox"));
  });

  it("keeps missing components lexically", async () => {
    expect(await resolveInRoot(root, "/nope/a/../b")).toBe(join(root, "nope/b"));
    expect(await resolveInRoot(root, "/")).toBe(root);
  });

  it("throws on symlink loops", async () => {
    await expect(resolveInRoot(root, "/loop1")).rejects.toThrow(/too many levels/);
  });
});

describe("isInside", () => {
  it("is lexical and exact about prefixes", () => {
    expect(isInside("/a/b", "/a/b/c")).toBe(true);
    expect(isInside("/a/b", "/a/b")).toBe(true);
    expect(isInside("/a/b", "/a/bc")).toBe(false);
    expect(isInside("/a/b", "/a/b/../c")).toBe(false);
  });
});
