/**
 * Image management against containers on the real kernel: `rmi` refuses an image a container
 * uses, `rmi -f` untags it but the container keeps its image (restart runs it by digest), and the
 * GC frees the image only once the container is removed.
 */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
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
  "image/container integration tests need root (mounts, cgroups)",
  process.env.CI === "true",
);
const stateDir = tempStateDir("berth-it-img-", ENABLED);
let svc: ContainerService;

describe.skipIf(!ENABLED)("images used by containers (root)", () => {
  beforeAll(async () => {
    svc = await ContainerService.create({ stateDir });
  });
  afterAll(async () => {
    await removeAllAndClose(svc);
    removeStateDir(stateDir);
  });

  it("commit: the rw layer (a new file, a deleted one) and --change make an image that runs", async () => {
    const p = runParams("commit", {
      command: [
        "sh",
        "-c",
        "echo committed > /hello.txt; rm /bin/true; mkdir -p /data; echo x > /data/y",
      ],
    });
    await svc.run(p);
    await waitExited(svc, p.containerId);
    const r = await svc.commit({
      containerId: p.containerId,
      ref: "committed:1",
      changes: { cmd: ["cat", "/hello.txt"], env: ["GREETING=hi"] },
      comment: "from the test",
      pause: true,
    });
    expect(r.ref).toBe("committed:1");
    const d = await svc.imageInspect({ ref: "committed:1" });
    expect(d.digest).toBe(r.digest);
    expect(d.layers).toHaveLength(2);
    expect(d.config).toMatchObject({ Cmd: ["cat", "/hello.txt"] });
    expect((d.config as { Env: string[] }).Env).toContain("GREETING=hi");
    expect(d.history.at(-1)).toMatchObject({ comment: "from the test" });

    const q = runParams("commit2", { image: "committed:1" });
    await svc.run(q);
    await waitExited(svc, q.containerId);
    expect(await logText(svc, q.containerId)).toBe("committed");
    // The deletion is in the layer as a whiteout: /bin/true is gone, /bin/sh is still there.
    const t = runParams("commit3", {
      image: "committed:1",
      command: ["sh", "-c", "test -e /bin/true && echo present || echo gone; cat /data/y"],
    });
    await svc.run(t);
    await waitExited(svc, t.containerId);
    expect((await logText(svc, t.containerId)).split("\n")).toEqual(["gone", "x"]);
    for (const c of [p, q, t]) await svc.remove({ containerId: c.containerId, force: true });
    expect(await svc.imageRemove({ ref: "committed:1", force: false })).toEqual({
      untagged: ["committed:1"],
      deleted: [r.digest],
    });
  });

  it("rmi refuses an image a container uses; -f untags; restart still runs it; GC after rm", async () => {
    const { digest } = await svc.imageTag({ source: "busybox", target: "mine:1" });
    await expect(svc.imageRemove({ ref: "mine:1", force: false })).resolves.toEqual({
      untagged: ["mine:1"],
      deleted: [],
    }); // busybox still names it
    await svc.imageTag({ source: "busybox", target: "mine:1" });
    await svc.imageRemove({ ref: "busybox", force: false }); // now mine:1 is the only name
    const p = runParams("img", { image: "mine:1", command: ["echo", "from-mine"] });
    await svc.run(p);
    await waitExited(svc, p.containerId);

    await expect(svc.imageRemove({ ref: "mine:1", force: false })).rejects.toMatchObject({
      kind: "conflict",
      message: expect.stringContaining(`used by container ${p.containerId.slice(0, 12)}`),
    });
    expect(await svc.imageRemove({ ref: "mine:1", force: true })).toEqual({
      untagged: ["mine:1"],
      deleted: [],
    });
    expect((await svc.listImages()).map((i) => i.ref)).toEqual([]);
    // The image's blobs stay while the container exists; restart runs it by digest.
    expect(existsSync(join(stateDir, "images/blobs/sha256", digest.slice(7)))).toBe(true);
    await svc.start({ containerId: p.containerId });
    await waitExited(svc, p.containerId);
    expect(svc.inspect(p.containerId).exitCode).toBe(0);
    expect((await logText(svc, p.containerId)).split("\n")).toEqual(["from-mine", "from-mine"]);

    await svc.remove({ containerId: p.containerId, force: false });
    const pruned = await svc.imagePrune({ all: false });
    expect(pruned.deleted).toEqual([digest]);
    expect(existsSync(join(stateDir, "images/blobs/sha256", digest.slice(7)))).toBe(false);
    expect(
      readdirSync(join(stateDir, "images/snapshots")).filter((n) => /^[0-9a-f]{64}$/.test(n)),
    ).toEqual([]);
  });
});
