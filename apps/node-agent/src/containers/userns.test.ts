import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ContainerSpecSchema } from "@berth/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { buildSpec } from "../runtime/spec/spec-opts";
import {
  DEFAULT_POOL,
  USERNS_RANGE_SIZE,
  UsernsAllocator,
  effectiveUserns,
  parseSubIds,
  withUserns,
} from "./userns";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "berth-userns-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const none = { subuidPath: "/nonexistent/subuid", subgidPath: "/nonexistent/subgid" };

describe("parseSubIds", () => {
  it("reads name:start:count lines and skips junk", () => {
    expect(parseSubIds("alice:100000:65536\n# c\nbad\nbob:165536:65536\n")).toEqual([
      { name: "alice", start: 100000, count: 65536 },
      { name: "bob", start: 165536, count: 65536 },
    ]);
  });
});

describe("UsernsAllocator", () => {
  it("hands out disjoint 65536-id ranges, persists them and frees them", async () => {
    const a = await UsernsAllocator.open(dir, none);
    const r1 = await a.allocate("c1");
    const r2 = await a.allocate("c2");
    expect(r1).toEqual({ hostId: DEFAULT_POOL.start, size: USERNS_RANGE_SIZE });
    expect(r2.hostId).toBe(DEFAULT_POOL.start + USERNS_RANGE_SIZE);
    expect(await a.allocate("c1")).toEqual(r1);
    expect(JSON.parse(readFileSync(join(dir, "userns.json"), "utf8"))).toEqual({
      version: 1,
      ranges: { c1: r1.hostId, c2: r2.hostId },
    });
    // a restarted agent sees the same allocations and does not reuse them
    const again = await UsernsAllocator.open(dir, none);
    expect(again.get("c2")).toEqual(r2);
    expect((await again.allocate("c3")).hostId).toBe(DEFAULT_POOL.start + 2 * USERNS_RANGE_SIZE);
    await again.release("c1");
    expect(again.get("c1")).toBeUndefined();
    expect((await again.allocate("c4")).hostId).toBe(r1.hostId);
  });

  it("skips ranges of other users in /etc/subuid and /etc/subgid, and says when the pool is full", async () => {
    const subuid = join(dir, "subuid");
    const subgid = join(dir, "subgid");
    writeFileSync(subuid, `alice:${200_000}:65536\n`);
    writeFileSync(subgid, `bob:${200_000 + 3 * 65_536}:10\n`);
    const a = await UsernsAllocator.open(dir, {
      subuidPath: subuid,
      subgidPath: subgid,
      pool: { start: 200_000, count: 4 },
    });
    expect((await a.allocate("x")).hostId).toBe(200_000 + 65_536);
    expect((await a.allocate("y")).hostId).toBe(200_000 + 2 * 65_536);
    await expect(a.allocate("z")).rejects.toMatchObject({
      kind: "unavailable",
      message: "no free user-namespace range left (2 in the pool, all in use)",
    });
  });

  it("uses a `berth` entry of /etc/subuid as the pool", async () => {
    const subuid = join(dir, "subuid");
    writeFileSync(subuid, `berth:${500_000}:${2 * 65_536}\nalice:100000:65536\n`);
    const a = await UsernsAllocator.open(dir, { subuidPath: subuid, subgidPath: subuid });
    expect((await a.allocate("x")).hostId).toBe(500_000);
    expect((await a.allocate("y")).hostId).toBe(500_000 + 65_536);
    await expect(a.allocate("z")).rejects.toThrow(/no free user-namespace range/);
  });
});

describe("effectiveUserns and withUserns", () => {
  const spec = (x: object) => ContainerSpecSchema.parse({ image: "busybox", ...x });
  it("is auto only when asked for, and refuses auto with what needs the host's view", () => {
    expect(effectiveUserns(spec({}))).toBe("host");
    expect(effectiveUserns(spec({ userns: "host" }))).toBe("host");
    expect(effectiveUserns(spec({ userns: "auto" }))).toBe("auto");
    expect(() => effectiveUserns(spec({ userns: "auto", namespaces: { ipc: "host" } }))).toThrow(
      /--userns=auto cannot be used with --ipc=host/,
    );
    expect(() => effectiveUserns(spec({ userns: "auto", namespaces: { pid: "host" } }))).toThrow(
      /--pid=host/,
    );
    expect(() => effectiveUserns(spec({ userns: "auto", security: { privileged: true } }))).toThrow(
      /--privileged/,
    );
  });
  it("maps 0-65535 inside to the range outside", () => {
    const s = buildSpec(withUserns({ hostId: 1_000_000_000, size: 65_536 }));
    expect(s.linux.namespaces).toContainEqual({ type: "user" });
    expect(s.linux.uidMappings).toEqual([{ containerID: 0, hostID: 1_000_000_000, size: 65_536 }]);
    expect(s.linux.gidMappings).toEqual(s.linux.uidMappings);
  });
});
