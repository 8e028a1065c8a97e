/**
 * Root integration test of `image import`, `save` and `load` through the engine's command
 * methods on the real kernel (runc + conmon): a rootfs tar made here from the host's static
 * busybox is imported with `--change`-style config, a container runs from it; the image is
 * saved, removed, loaded back from the archive (same digest) and runs again.
 */
import { readFileSync } from "node:fs";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildTar } from "../images/busybox-seed";
import { ContainerService } from "./container-service";
import {
  logText,
  removeAllAndClose,
  removeStateDir,
  rootOrCi,
  runParams,
  tempStateDir,
  waitExited,
} from "./testing/integration-fixture";

const ENABLED = rootOrCi(
  "image import/save/load integration tests need root (namespaces, cgroups, mounts)",
  process.env.CI === "true",
);

const REF = "berth-test/imported:1";

describe.skipIf(!ENABLED)("image import, save and load (root)", () => {
  const stateDir = tempStateDir("berth-archive-it-", ENABLED);
  let svc: ContainerService;

  beforeAll(async () => {
    svc = await ContainerService.create({ stateDir });
  });
  afterAll(async () => {
    await removeAllAndClose(svc);
    removeStateDir(stateDir);
  });

  async function runImported(): Promise<{ exitCode: number | null; logs: string }> {
    const p = runParams("imp", { image: REF });
    await svc.run(p);
    const st = await waitExited(svc, p.containerId);
    return { exitCode: st.exitCode, logs: await logText(svc, p.containerId) };
  }

  it("runs a container from an imported rootfs, then from the same image saved and loaded", async () => {
    const rootfs = await buildTar([
      { name: "bin/", type: "directory", mode: 0o755 },
      { name: "bin/busybox", type: "file", mode: 0o755, data: readFileSync("/usr/bin/busybox") },
      { name: "bin/sh", type: "symlink", linkname: "busybox" },
      { name: "bin/cat", type: "symlink", linkname: "busybox" },
      { name: "etc/", type: "directory", mode: 0o755 },
      { name: "etc/motd", type: "file", mode: 0o644, data: Buffer.from("imported rootfs\n") },
      { name: "tmp/", type: "directory", mode: 0o1777 },
    ]);
    const imported = await svc.imageImport(
      { ref: REF, changes: { cmd: ["cat", "/etc/motd"], env: ["PATH=/bin"], workdir: "/tmp" } },
      Readable.from([rootfs]),
    );
    expect(imported.loaded).toEqual([{ ref: REF, digest: expect.stringMatching(/^sha256:/) }]);
    const digest = imported.loaded[0]!.digest;
    const details = await svc.imageInspect({ ref: REF });
    expect(details.history[0]?.created_by).toBe("berth image import");
    expect(await runImported()).toEqual({ exitCode: 0, logs: "imported rootfs" });

    // save → rmi → load → run again
    const chunks: Buffer[] = [];
    await svc.imageSave({ refs: [REF] }, new AbortController().signal, async (c) => {
      chunks.push(c);
    });
    const archive = Buffer.concat(chunks);
    await svc.imageRemove({ ref: REF, force: true });
    await svc.imagePrune({ all: false });
    await expect(svc.imageInspect({ ref: REF })).rejects.toThrow(/not found/);
    const loaded = await svc.imageLoad({}, Readable.from([archive]));
    expect(loaded.loaded).toEqual([{ ref: REF, digest }]);
    expect(await runImported()).toEqual({ exitCode: 0, logs: "imported rootfs" });
  });

  it("refuses a hostile rootfs and keeps the store unchanged", async () => {
    const before = (await svc.listImages()).map((i) => i.ref);
    const bad = await buildTar([
      { name: "../../etc/evil", type: "file", mode: 0o644, data: Buffer.from("x") },
    ]);
    await expect(
      svc.imageImport({ ref: "berth-test/evil:1" }, Readable.from([bad])),
    ).rejects.toThrow(/escapes the root/);
    expect((await svc.listImages()).map((i) => i.ref)).toEqual(before);
  });
});
