/**
 * Runs the OciRuntime contract against every runtime this host can use. A runtime the host
 * cannot run (e.g. crun on a hybrid cgroup layout) is skipped with the probe's reason printed;
 * runc must be usable in CI.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DomainError, newContainerId } from "@berth/core";
import { describe, expect, it } from "vitest";
import { detectCgroups } from "../cgroups/detect";
import { CrunRuntime } from "./crun-runtime";
import { describeOciRuntimeContract } from "./oci-runtime.contract";
import { RuncRuntime } from "./runc-runtime";
import { DEFAULT_RUNTIME_PATHS, probeRuntime } from "./runtime-probe";
import {
  buildSpec,
  withCgroupsPath,
  withNamespaces,
  withProcess,
  withRootfs,
} from "./spec/spec-opts";

const IS_ROOT = process.getuid?.() === 0;
const IN_CI = process.env.CI === "true";
const ENABLED = IS_ROOT || IN_CI;
if (!ENABLED) console.warn("SKIPPED: OciRuntime contract tests need root (namespaces, cgroups)");

const mode = ENABLED ? (await detectCgroups()).mode : "unified";
const runc = await probeRuntime("runc", DEFAULT_RUNTIME_PATHS.runc, mode);
const crun = await probeRuntime("crun", DEFAULT_RUNTIME_PATHS.crun, mode);

describe.runIf(ENABLED)("runtime probe on this host", () => {
  it("finds runc usable (the default runtime)", () => {
    expect(runc).toMatchObject({ name: "runc", usable: true });
  });
  it(`reports crun as ${crun.usable ? "usable" : `unusable: ${crun.reason}`}`, () => {
    expect(crun.usable || (crun.reason ?? "").length > 0).toBe(true);
  });
});

if (ENABLED && runc.usable)
  describeOciRuntimeContract("runc", (root) => RuncRuntime.create(runc.path, root));

// The probe reasons from the layout; on a hybrid host, check that crun really refuses it.
describe.runIf(ENABLED && mode === "hybrid" && crun.version !== "")("crun on a hybrid host", () => {
  it("really fails `crun create` with the hybrid-mode error the probe reports", async () => {
    const dir = mkdtempSync(join(tmpdir(), "berth-crun-hybrid-"));
    const id = newContainerId();
    const rt = await CrunRuntime.create(crun.path, join(dir, "state"));
    try {
      const rootfs = join(dir, "rootfs");
      mkdirSync(join(rootfs, "bin"), { recursive: true });
      copyFileSync("/usr/bin/busybox", join(rootfs, "bin/busybox"));
      const spec = buildSpec(
        withProcess({ args: ["/bin/busybox", "true"], env: ["PATH=/bin"] }),
        withRootfs(rootfs, true),
        withNamespaces("pid", "mount"),
        withCgroupsPath(`berth-probe/${id}`),
      );
      writeFileSync(join(dir, "config.json"), JSON.stringify(spec));
      const err = await rt.create(id, dir, join(dir, "pid")).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(DomainError);
      expect((err as DomainError).message).toMatch(/hybrid mode not supported/);
      expect(crun.reason).toMatch(/hybrid mode not supported/);
    } finally {
      await rt.delete(id, true).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

if (ENABLED && crun.usable) {
  describeOciRuntimeContract("crun", (root) => CrunRuntime.create(crun.path, root));
} else if (ENABLED) {
  console.warn(`SKIPPED: OciRuntime contract for crun: ${crun.reason}`);
  describe.skip(`OciRuntime contract: crun — skipped, the host cannot run it: ${crun.reason}`, () => {
    it("is not run on this host", () => undefined);
  });
}
