/**
 * `image.push`, `image.pull` and the pull `run` does for a missing image, through the engine's
 * handlers, against a real docker-registry (distribution 2.8) on 127.0.0.1 with htpasswd Basic
 * auth: the credential travels in the command, progress chunks arrive, the pulled image runs.
 */
import { existsSync } from "node:fs";
import type { ImageTransferChunk } from "@berth/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ContainerService } from "./container-service";
import {
  REGISTRY_BIN,
  startRegistry,
  type TestRegistry,
} from "../images/registry/test-helpers/registry-server";
import {
  logText,
  removeAllAndClose,
  removeStateDir,
  rootOrCi,
  runParams,
  tempStateDir,
  waitExited,
} from "./testing/integration-fixture";

const IN_CI = process.env.CI === "true";
const ENABLED = rootOrCi("image pull/push integration tests need root", IN_CI);
const HAVE = existsSync(REGISTRY_BIN) && existsSync("/usr/bin/htpasswd");
if (ENABLED && !HAVE && !IN_CI)
  console.warn(`image-pull.integration: skipped — ${REGISTRY_BIN} or htpasswd missing`);
const RUN = ENABLED && (HAVE || IN_CI);
const stateDir = tempStateDir("berth-it-pull-", RUN);
const credential = { username: "alice", password: "pull-test-secret" };
let svc: ContainerService;
let registry: TestRegistry;

describe.skipIf(!RUN)("pull, push and run-pulls-missing against a real registry (root)", () => {
  beforeAll(async () => {
    registry = await startRegistry({
      basic: { user: credential.username, password: credential.password },
    });
    svc = await ContainerService.create({ stateDir });
  });
  afterAll(async () => {
    await removeAllAndClose(svc);
    await registry?.stop();
    removeStateDir(stateDir);
  });

  it("pushes, removes locally, then run pulls the missing image with the credential and runs it", async () => {
    const target = `${registry.host}/team/bb:1`;
    const ac = new AbortController();
    const chunks: ImageTransferChunk[] = [];
    const pushed = await svc.imagePush(
      { source: "busybox", target, credential },
      ac.signal,
      (c) => void chunks.push(c),
    );
    expect(pushed.digest).toMatch(/^sha256:[a-f0-9]{64}$/);
    expect(pushed.ref).toBe(target);
    const progress = chunks.flatMap((c) => c.progress ?? []);
    expect(progress.some((p) => p.kind === "layer" && p.status === "done")).toBe(true);
    expect(progress.some((p) => p.kind === "config")).toBe(true);
    expect(JSON.stringify(chunks)).not.toContain(credential.password);

    // Without the credential the registry refuses (htpasswd Basic).
    await expect(
      svc.imagePush(
        { source: "busybox", target: `${registry.host}/team/bb:2` },
        ac.signal,
        () => undefined,
      ),
    ).rejects.toMatchObject({ kind: "unauthenticated" });

    // The node forgets the image entirely (untag + GC of its blobs and snapshots).
    await svc.imageRemove({ ref: "busybox", force: true });
    await svc.imagePrune({ all: true });
    expect((await svc.listImages()).map((i) => i.ref)).toEqual([]);

    // Without `pull` a missing image stays not_found (nothing is fetched).
    const noPull = runParams("pull", { image: target, command: ["true"] });
    await expect(svc.run(noPull)).rejects.toMatchObject({ kind: "not_found" });
    // With `pull` but no credential: the registry's refusal, worded.
    const anon = runParams("pull", { image: target, command: ["true"] }, { pull: {} });
    await expect(svc.run(anon)).rejects.toMatchObject({ kind: "unauthenticated" });

    const p = runParams(
      "pull",
      { image: target, command: ["echo", "hello from the registry"] },
      { pull: { credential } },
    );
    await svc.run(p);
    const st = await waitExited(svc, p.containerId);
    expect(st.exitCode).toBe(0);
    expect(await logText(svc, p.containerId)).toContain("hello from the registry");
    const images = await svc.listImages();
    expect(images.find((i) => i.ref === target)?.digest).toBe(pushed.digest);
  });

  it("image.pull streams progress and answers the digest; a wrong password is refused", async () => {
    const ac = new AbortController();
    const target = `${registry.host}/team/bb:1`;
    await expect(
      svc.imagePull(
        { ref: target, credential: { username: "alice", password: "wrong" } },
        ac.signal,
        () => undefined,
      ),
    ).rejects.toMatchObject({ kind: "unauthenticated" });

    // Remove every local copy so the pull downloads the blobs again.
    for (const c of svc.list()) await svc.remove({ containerId: c.id, force: true });
    await svc.imageRemove({ ref: target, force: true });
    await svc.imagePrune({ all: true });

    const chunks: ImageTransferChunk[] = [];
    const r = await svc.imagePull(
      { ref: target, credential },
      ac.signal,
      (c) => void chunks.push(c),
    );
    expect(r.ref).toBe(target);
    expect(r.digest).toMatch(/^sha256:/);
    const progress = chunks.flatMap((c) => c.progress ?? []);
    const layer = progress.filter((x) => x.kind === "layer");
    expect(layer.some((x) => x.status === "downloading" || x.status === "done")).toBe(true);
    const last = layer.at(-1)!;
    expect(last.status).toBe("done");
    expect(last.done).toBe(last.total);
    expect(last.total).toBeGreaterThan(0);
    expect((await svc.listImages()).map((i) => i.ref)).toContain(target);

    // Aborting the signal cancels a transfer.
    await svc.imageRemove({ ref: target, force: true });
    await svc.imagePrune({ all: true });
    const cancelled = new AbortController();
    cancelled.abort(new Error("cancelled by the test"));
    await expect(
      svc.imagePull({ ref: target, credential }, cancelled.signal, () => undefined),
    ).rejects.toThrow();
    expect((await svc.listImages()).map((i) => i.ref)).not.toContain(target);
  });
});
