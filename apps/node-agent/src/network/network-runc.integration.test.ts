/**
 * A real runc container joins a network namespace pre-created and wired by the library
 * (`linux.namespaces[{type:"network", path}]`): it sees its eth0 address and default route and
 * reaches a peer on the same network. Cgroups go beneath the test process's own group.
 */
import { copyFileSync, mkdirSync, symlinkSync } from "node:fs";
import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newContainerId } from "@berth/core";
import { driverFor, type CgroupDriver } from "../cgroups/cgroup-driver";
import { detectCgroups } from "../cgroups/detect";
import { rootOrCi, tempStateDir } from "../containers/testing/integration-fixture";
import { RuncRuntime } from "../runtime/runc-runtime";
import {
  buildSpec,
  withCapabilities,
  withCgroupsPath,
  withDefaultMounts,
  withNamespaces,
  withProcess,
  withRootfs,
} from "../runtime/spec/spec-opts";
import { run } from "../sys/exec";
import { cleanupAll } from "./cleanup";
import { createNetns } from "./netns";
import { NetworkManager } from "./network-manager";

const ENABLED = rootOrCi("runc network test needs root", process.env.CI === "true");
const PREFIX = "bnrunc";
const dir = tempStateDir("berth-netrunc-", ENABLED);

describe.skipIf(!ENABLED)("runc container in a pre-created netns (root)", () => {
  let mgr: NetworkManager;
  let cgroups: CgroupDriver;
  let runtimeRoot: string;
  const ids: string[] = [];

  beforeAll(async () => {
    await cleanupAll(PREFIX, dir);
    mgr = await NetworkManager.open({
      stateDir: join(dir, "agent"),
      prefix: PREFIX,
      defaultSubnet: "10.231.40.0/24",
    });
    const rootfs = join(dir, "rootfs");
    mkdirSync(join(rootfs, "bin"), { recursive: true });
    for (const d of ["proc", "dev", "sys", "tmp", "etc"]) mkdirSync(join(rootfs, d));
    copyFileSync("/usr/bin/busybox", join(rootfs, "bin/busybox"));
    symlinkSync("busybox", join(rootfs, "bin", "sh"));
    runtimeRoot = join(dir, "runc");
    cgroups = driverFor(await detectCgroups(), await RuncRuntime.create("runc", runtimeRoot));
    await cgroups.prepare();
  });

  afterAll(async () => {
    if (!ENABLED) return;
    for (const id of ids) {
      await run(["runc", "--root", runtimeRoot, "delete", "-f", id], { allowFailure: true });
      await cgroups?.removeContainer(id).catch(() => undefined);
    }
    await cleanupAll(PREFIX, join(dir, "agent"));
    await rm(dir, { recursive: true, force: true });
  });

  it("sees its address and route, and reaches a peer", async () => {
    const peer = newContainerId();
    await createNetns(mgr.netnsPath(peer));
    const peerIp = (await mgr.attach({ containerId: peer, network: "bridge" })).ip;

    const id = newContainerId();
    ids.push(id);
    const netns = mgr.netnsPath(id);
    await createNetns(netns);
    const ep = await mgr.attach({ containerId: id, network: "bridge" });
    const bundle = join(dir, id);
    mkdirSync(bundle);
    const spec = buildSpec(
      withProcess({
        args: [
          "/bin/sh",
          "-c",
          `busybox ip -o -4 addr show eth0; busybox ip route; busybox ping -c 1 -W 2 ${peerIp}`,
        ],
        env: ["PATH=/bin"],
      }),
      withRootfs(join(dir, "rootfs"), true),
      // the pre-created namespace, by path; withNamespaces then leaves "network" alone
      (s) => void s.linux.namespaces.push({ type: "network", path: netns }),
      withNamespaces("pid", "network", "uts", "mount", "ipc"),
      withDefaultMounts(),
      withCapabilities(), // Docker's defaults, NET_RAW for ping included
      withCgroupsPath(cgroups.cgroupsPath(id)),
    );
    expect(spec.linux.namespaces.filter((n) => n.type === "network")).toEqual([
      { type: "network", path: netns },
    ]);
    await writeFile(join(bundle, "config.json"), JSON.stringify(spec));
    const r = await run(["runc", "--root", runtimeRoot, "run", "--bundle", bundle, id], {
      timeoutMs: 30_000,
      allowFailure: true,
    });
    if (r.code !== 0) console.log(r.stdout, r.stderr);
    expect(r.stdout).toContain(`inet ${ep.ip}/24`);
    expect(r.stdout).toContain(`default via 10.231.40.1 dev eth0`);
    expect(r.stdout + r.stderr).toMatch(/1 packets received/);
    expect(r.code).toBe(0);
    await mgr.release(id);
    await mgr.release(peer);
  });
});
