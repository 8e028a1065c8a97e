import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  VolumeStore,
  checkBindSource,
  checkMountTarget,
  namespacesFor,
  resolveMounts,
  withMounts,
} from "./mounts";
import { buildSpec } from "../runtime/spec/spec-opts";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "berth-mounts-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("namespacesFor", () => {
  it("makes every namespace private by default, cgroup included", () => {
    expect(namespacesFor(undefined, undefined).sort()).toEqual(
      ["cgroup", "ipc", "mount", "network", "pid", "uts"].sort(),
    );
  });
  it("leaves out the namespaces shared with the host; never network, mount or cgroup", () => {
    expect(namespacesFor({ pid: "host", ipc: "host", uts: "host" }, undefined).sort()).toEqual(
      ["cgroup", "mount", "network"].sort(),
    );
    expect(namespacesFor({ pid: "private", ipc: "shareable", uts: "private" }, "h")).toContain(
      "ipc",
    );
  });
  it("refuses a hostname with the host's uts namespace", () => {
    expect(() => namespacesFor({ pid: "private", ipc: "private", uts: "host" }, "h")).toThrow(
      /--hostname cannot be used with --uts=host/,
    );
  });
});

describe("checkMountTarget", () => {
  it("normalizes and refuses /, .., relative paths and the runtime's mounts", () => {
    expect(checkMountTarget("/data//x/")).toBe("/data/x");
    expect(() => checkMountTarget("/")).toThrow(/root filesystem/);
    expect(() => checkMountTarget("/a/../b")).toThrow(/without \.\./);
    expect(() => checkMountTarget("data")).toThrow(/absolute/);
    expect(() => checkMountTarget("/proc/sys")).toThrow(/under \/proc/);
    expect(() => checkMountTarget("/dev")).toThrow(/under \/dev/);
    expect(checkMountTarget("/devices")).toBe("/devices");
  });
});

describe("checkBindSource", () => {
  it("returns the real path and refuses a symlink that leads into a forbidden place", async () => {
    const state = join(dir, "state");
    mkdirSync(state);
    const ok = join(dir, "ok");
    mkdirSync(ok);
    symlinkSync("/proc", join(dir, "to-proc"));
    symlinkSync(state, join(dir, "to-state"));
    expect(await checkBindSource(ok, state)).toBe(ok);
    await expect(checkBindSource(join(dir, "to-proc"), state)).rejects.toThrow(/is \/proc/);
    await expect(checkBindSource(join(dir, "to-state"), state)).rejects.toThrow(/state directory/);
    await expect(checkBindSource(dir, state)).rejects.toThrow(/contains the agent's state/);
    await expect(checkBindSource(join(dir, "nope"), state)).rejects.toThrow(/does not exist/);
    await expect(checkBindSource("/", state)).rejects.toMatchObject({ kind: "forbidden" });
  });
});

describe("VolumeStore", () => {
  it("creates idempotently, lists, inspects and refuses to remove a volume in use", async () => {
    const store = new VolumeStore(join(dir, "vs"));
    expect(await store.list()).toEqual([]);
    const a = await store.create("data");
    expect(a.mountpoint).toBe(join(dir, "vs", "volumes", "data", "_data"));
    expect(await store.create("data")).toEqual(a);
    await store.create("cache");
    expect((await store.list()).map((v) => v.name)).toEqual(["cache", "data"]);
    await expect(store.remove("data", ["a".repeat(64)])).rejects.toMatchObject({
      kind: "conflict",
      message: `volume data is in use by container ${"a".repeat(12)}`,
    });
    await store.remove("data", []);
    await expect(store.inspect("data")).rejects.toMatchObject({ kind: "not_found" });
    await expect(store.remove("data", [])).rejects.toMatchObject({ kind: "not_found" });
    await expect(store.create("../escape")).rejects.toThrow(/volume names/);
  });
});

describe("resolveMounts + withMounts", () => {
  it("resolves targets inside the rootfs through image symlinks and writes bind mounts", async () => {
    const rootfs = join(dir, "rootfs");
    mkdirSync(join(rootfs, "real"), { recursive: true });
    symlinkSync("/real", join(rootfs, "abs"));
    symlinkSync("../../../../..", join(rootfs, "up"));
    const src = join(dir, "src");
    mkdirSync(src);
    const state = join(dir, "state2");
    mkdirSync(state);
    const mounts = await resolveMounts(
      [
        { type: "bind", source: src, target: "/abs/x", readOnly: true },
        { type: "bind", source: src, target: "/up/etc", readOnly: false },
        { type: "volume", source: "vol", target: "/v", readOnly: false },
      ],
      { stateDir: state, rootfs, volumes: new VolumeStore(state) },
    );
    expect(mounts).toEqual([
      { source: src, destination: "/real/x", readOnly: true },
      { source: src, destination: "/etc", readOnly: false },
      { source: join(state, "volumes", "vol", "_data"), destination: "/v", readOnly: false },
    ]);
    const spec = buildSpec(withMounts(mounts));
    expect(spec.mounts[0]).toEqual({
      destination: "/real/x",
      type: "bind",
      source: src,
      options: ["rbind", "rprivate", "ro"],
    });
    await expect(
      resolveMounts(
        [
          { type: "volume", source: "a1", target: "/x", readOnly: false },
          { type: "volume", source: "a2", target: "/x/", readOnly: false },
        ],
        { stateDir: state, rootfs, volumes: new VolumeStore(state) },
      ),
    ).rejects.toThrow(/given twice/);
  });
});
