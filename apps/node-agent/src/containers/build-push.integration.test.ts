/**
 * The registry round trip the images issue asks for, with real clients on 127.0.0.1: a
 * Berth-built image (Dockerfile → builder) is pushed to Debian's docker-registry and read back by
 * skopeo (same manifest digest); skopeo then copies it to another repository, and Berth — having
 * forgotten the image — pulls that copy and runs it.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { Readable } from "node:stream";
import { pack } from "tar-stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ContainerService } from "./container-service";
import {
  REGISTRY_BIN,
  SKOPEO_BIN,
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
const ENABLED = rootOrCi("build/push/skopeo integration tests need root", IN_CI);
const HAVE = existsSync(REGISTRY_BIN) && existsSync(SKOPEO_BIN);
if (ENABLED && !HAVE && !IN_CI)
  console.warn(`build-push.integration: skipped — ${REGISTRY_BIN} or ${SKOPEO_BIN} missing`);
const RUN = ENABLED && (HAVE || IN_CI);
const stateDir = tempStateDir("berth-it-buildpush-", RUN);
let svc: ContainerService;
let registry: TestRegistry;

async function contextTar(): Promise<Readable> {
  const tar = pack();
  tar.entry(
    { name: "Dockerfile" },
    'FROM busybox\nCOPY msg.txt /msg.txt\nRUN echo "built by berth" >> /msg.txt\nCMD ["cat", "/msg.txt"]\n',
  );
  tar.entry({ name: "msg.txt" }, "hello registry\n");
  tar.finalize();
  return Readable.from(tar as unknown as AsyncIterable<Buffer>);
}

describe.skipIf(!RUN)("a Berth-built image through a real registry and skopeo (root)", () => {
  beforeAll(async () => {
    registry = await startRegistry();
    svc = await ContainerService.create({ stateDir });
  });
  afterAll(async () => {
    await removeAllAndClose(svc);
    await registry?.stop();
    removeStateDir(stateDir);
  });

  it("build → push → skopeo inspect/copy → forget → pull the copy → run", async () => {
    const built = await svc.build({ tags: ["made:1"] }, undefined, {
      contextTar: await contextTar(),
    });
    const target = `${registry.host}/berth/made:1`;
    const ac = new AbortController();
    const pushed = await svc.imagePush({ source: "made:1", target }, ac.signal, () => undefined);
    expect(pushed.digest).toBe(built.digest);

    const inspect = JSON.parse(
      execFileSync(SKOPEO_BIN, ["inspect", "--tls-verify=false", `docker://${target}`], {
        encoding: "utf8",
      }),
    ) as { Digest: string; Layers: string[] };
    expect(inspect.Digest).toBe(built.digest);
    expect(inspect.Layers.length).toBeGreaterThanOrEqual(2);

    const copy = `${registry.host}/copied/made:2`;
    execFileSync(SKOPEO_BIN, [
      "copy",
      "--src-tls-verify=false",
      "--dest-tls-verify=false",
      `docker://${target}`,
      `docker://${copy}`,
    ]);

    await svc.imageRemove({ ref: "made:1", force: true });
    await svc.imagePrune({ all: true });
    expect((await svc.listImages()).map((i) => i.ref)).not.toContain("made:1");

    const p = runParams("copied", { image: copy });
    await svc.run({ ...p, pull: {} });
    await waitExited(svc, p.containerId);
    expect(await logText(svc, p.containerId)).toBe("hello registry\nbuilt by berth");
  });
});
