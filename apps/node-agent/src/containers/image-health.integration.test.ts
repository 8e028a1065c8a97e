/**
 * Root integration tests of healthchecks on the real kernel (runc + conmon): an image's
 * HEALTHCHECK runs when the spec has none, `--no-healthcheck` (NONE) disables it, and no probe
 * runs while a container is paused.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { ContainerStatus } from "@berth/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deriveImage } from "../images/derive-image";
import { ImageStore } from "../images/image-store";
import { ContainerService } from "./container-service";
import {
  removeAllAndClose,
  removeStateDir,
  rootOrCi,
  runParams,
  tempStateDir,
  waitFor,
} from "./testing/integration-fixture";

const ENABLED = rootOrCi(
  "healthcheck integration tests need root (namespaces, cgroups, mounts)",
  process.env.CI === "true",
);

const IMAGE = "berth-test/healthy:1";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!ENABLED)("image HEALTHCHECK and paused containers (root)", () => {
  const stateDir = tempStateDir("berth-health-it-", ENABLED);
  let svc: ContainerService;
  const healthEvents: ContainerStatus[] = [];

  beforeAll(async () => {
    // busybox's layers with a config that carries a HEALTHCHECK, as `docker build` writes it.
    const images = await ImageStore.open(stateDir);
    await images.ensureBusybox();
    await deriveImage(images, "busybox", IMAGE, (c) => ({
      ...c,
      config: {
        ...c.config,
        Healthcheck: {
          Test: ["CMD-SHELL", "echo probe >> /tmp/probes && echo ok"],
          Interval: 100_000_000, // 100 ms
          Timeout: 5_000_000_000,
          Retries: 2,
        },
      },
    }));
    svc = await ContainerService.create({ stateDir });
    svc.onEvent((name, data) => {
      if (name === "container.health_status") healthEvents.push(data as ContainerStatus);
    });
  });

  afterAll(async () => {
    await removeAllAndClose(svc);
    removeStateDir(stateDir);
  });

  const probesFile = (id: string) => join(stateDir, "containers", id, "upper", "tmp", "probes");
  const probeCount = (id: string) =>
    existsSync(probesFile(id)) ? readFileSync(probesFile(id), "utf8").split("\n").length - 1 : 0;
  const healthy = (id: string) =>
    waitFor(`${id.slice(0, 12)} healthy`, () => {
      const h = svc.inspect(id).health;
      return h?.status === "healthy" ? h : undefined;
    });

  it("runs the image's HEALTHCHECK when the spec has none", async () => {
    const p = runParams("hc", { image: IMAGE, command: ["sleep", "60"] });
    await svc.run(p);
    const h = await healthy(p.containerId);
    expect(h.log[0]).toMatchObject({ exitCode: 0, output: "ok\n" });
    expect(probeCount(p.containerId)).toBeGreaterThanOrEqual(1);
    expect(healthEvents.some((e) => e.id === p.containerId && e.health?.status === "healthy")).toBe(
      true,
    );
  });

  it("--no-healthcheck (test NONE) disables the image's HEALTHCHECK", async () => {
    const p = runParams("hc", {
      image: IMAGE,
      command: ["sleep", "60"],
      healthcheck: { test: ["NONE"] },
    });
    await svc.run(p);
    await sleep(600); // six image intervals
    expect(svc.inspect(p.containerId).health).toBeNull();
    expect(probeCount(p.containerId)).toBe(0);
  });

  it("runs no probe while paused, keeps the health, and resumes after unpause", async () => {
    const p = runParams("hc", { image: IMAGE, command: ["sleep", "60"] });
    await svc.run(p);
    await healthy(p.containerId);
    await svc.pause({ containerId: p.containerId });
    const pausedAt = new Date().toISOString();
    await sleep(300); // a probe already running when the pause came may still finish
    const events = healthEvents.length;
    const count = probeCount(p.containerId);
    const log = svc.inspect(p.containerId).health!.log;
    await sleep(1500); // fifteen intervals
    expect(probeCount(p.containerId)).toBe(count);
    const during = svc.inspect(p.containerId).health!;
    expect(during.status).toBe("healthy");
    expect(during.log).toEqual(log);
    expect(during.log.every((l) => l.start < pausedAt)).toBe(true);
    expect(healthEvents.length).toBe(events);

    await svc.unpause({ containerId: p.containerId });
    const unpausedAt = new Date().toISOString();
    await waitFor("a probe after unpause", () =>
      probeCount(p.containerId) > count &&
      svc.inspect(p.containerId).health!.log.some((l) => l.start >= unpausedAt)
        ? true
        : undefined,
    );
    const after = svc.inspect(p.containerId).health!;
    expect(after.status).toBe("healthy");
    // It continued from the health it had: the old probes are still in the log, and the
    // unchanged status was not announced again.
    expect(after.log[0]!.start <= log.at(-1)!.start).toBe(true);
    expect(healthEvents.length).toBe(events);
  });
});
