/**
 * The OciRuntime contract: what ContainerService relies on from any runtime (runc, crun), checked
 * on the real kernel. Containers are created the way the agent creates them (through conmon),
 * with a busybox-static rootfs in a temp dir and a cgroup beneath the test process's own group.
 * Run from oci-runtime.integration.test.ts, once per runtime the host can use.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DomainError, newContainerId } from "@berth/core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { driverFor, type CgroupDriver, type ResourceUpdater } from "../cgroups/cgroup-driver";
import { detectCgroups } from "../cgroups/detect";
import { ConmonMonitor } from "../monitor/conmon";
import type { OciRuntime } from "./oci-runtime";
import {
  buildSpec,
  withCgroupsPath,
  withDefaultMounts,
  withLimits,
  withNamespaces,
  withProcess,
  withRootfs,
} from "./spec/spec-opts";

export type RuntimeFactory = (root: string) => Promise<OciRuntime & ResourceUpdater>;

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, ms = 15_000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export function describeOciRuntimeContract(name: string, factory: RuntimeFactory): void {
  describe(`OciRuntime contract: ${name}`, () => {
    let dir = "";
    let rootfs = "";
    let runtime: OciRuntime & ResourceUpdater;
    let cgroups: CgroupDriver;
    let monitor: ConmonMonitor;
    const made: string[] = [];

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), `berth-contract-${name}-`));
      rootfs = join(dir, "rootfs");
      mkdirSync(join(rootfs, "bin"), { recursive: true });
      for (const d of ["proc", "dev", "sys", "tmp", "etc"]) mkdirSync(join(rootfs, d));
      copyFileSync("/usr/bin/busybox", join(rootfs, "bin/busybox"));
      for (const applet of ["sh", "sleep", "true", "cat"])
        symlinkSync("busybox", join(rootfs, "bin", applet));
      runtime = await factory(join(dir, "state"));
      cgroups = driverFor(await detectCgroups(), runtime);
      await cgroups.prepare();
      monitor = new ConmonMonitor("/usr/bin/conmon", runtime);
    });

    afterEach(async () => {
      for (const id of made.splice(0)) {
        await runtime.kill(id, "SIGKILL", true).catch(() => undefined);
        await runtime.delete(id, true).catch(() => undefined);
      }
    });

    afterAll(async () => {
      // The `berth` parent groups the containers' cgroups went in, once empty (as the agent does).
      await cgroups?.cleanup();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    async function bundle(id: string, args: string[], memoryBytes?: number) {
      const b = join(dir, id);
      for (const d of ["", "exits", "sockets", "persist"])
        mkdirSync(join(b, d), { recursive: true });
      const spec = buildSpec(
        withProcess({ args, env: ["PATH=/bin"] }),
        withRootfs(rootfs, true),
        withNamespaces("pid", "network", "uts", "mount", "ipc"),
        withDefaultMounts(),
        withLimits(memoryBytes === undefined ? {} : { memoryBytes }),
        withCgroupsPath(cgroups.cgroupsPath(id)),
      );
      await writeFile(join(b, "config.json"), JSON.stringify(spec));
      return b;
    }

    async function createThroughMonitor(args: string[], memoryBytes?: number) {
      const id = newContainerId();
      const b = await bundle(id, args, memoryBytes);
      made.push(id);
      const proc = await monitor.create({
        id,
        name: `contract-${name}`,
        bundle: b,
        pidFile: join(b, "pid"),
        conmonPidFile: join(b, "conmon.pid"),
        logPath: join(b, "ctr.log"),
        exitDir: join(b, "exits"),
        socketDir: join(b, "sockets"),
        persistDir: join(b, "persist"),
      });
      return { id, pid: proc.pid };
    }

    it("reports its version", async () => {
      expect(await runtime.version()).toMatch(/^\d+\.\d+(\.\d+)?/);
    });

    it("create → start → kill → delete, with state at each step and the cgroup in our subtree", async () => {
      const { id, pid } = await createThroughMonitor(["/bin/sleep", "1000"]);
      expect(pid).toBeGreaterThan(1);
      expect(await runtime.state(id)).toMatchObject({ id, pid, status: "created" });

      await runtime.start(id);
      expect(await runtime.state(id)).toMatchObject({ id, pid, status: "running" });
      const paths = Object.values(cgroups.containerPaths(id));
      expect(paths.length).toBeGreaterThan(0);
      for (const p of paths) {
        expect(p).toContain(id);
        expect(existsSync(p)).toBe(true);
      }

      await runtime.kill(id, "SIGKILL");
      await waitFor("the container to stop", async () => {
        const s = await runtime.state(id);
        return s?.status === "stopped" ? s : undefined;
      });
      await runtime.delete(id);
      expect(await runtime.state(id)).toBeNull();
      for (const p of paths) expect(existsSync(p)).toBe(false);
    });

    it("applies a memory limit at create and changes it with update", async () => {
      const { id } = await createThroughMonitor(["/bin/sleep", "1000"], 64 * 1024 * 1024);
      await runtime.start(id);
      expect(await cgroups.readMemoryLimit(id)).toBe(64 * 1024 * 1024);
      await runtime.update(id, { memory: { limit: 96 * 1024 * 1024, swap: 96 * 1024 * 1024 } });
      expect(await cgroups.readMemoryLimit(id)).toBe(96 * 1024 * 1024);
    });

    it("treats unknown containers as gone: state null, kill and delete succeed", async () => {
      const id = newContainerId();
      expect(await runtime.state(id)).toBeNull();
      await expect(runtime.kill(id, "SIGKILL")).resolves.toBeUndefined();
      await expect(runtime.delete(id, true)).resolves.toBeUndefined();
    });

    it("fails a bad bundle with a DomainError that keeps the command and stderr, and leaves no state", async () => {
      const id = newContainerId();
      const b = await bundle(id, ["/bin/does-not-exist"]);
      rmSync(join(b, "config.json"));
      made.push(id);
      const err = await runtime.create(id, b, join(b, "pid")).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(DomainError);
      const de = err as DomainError;
      expect(de.kind).toBe("runtime");
      expect(de.message).toMatch(new RegExp(`^${name} create failed: `));
      expect(de.details?.command).toEqual(expect.arrayContaining([runtime.path, "create", id]));
      expect(String(de.details?.stderr)).toMatch(/config\.json/);
      expect(await runtime.state(id)).toBeNull();
    });
  });
}
