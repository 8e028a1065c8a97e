/**
 * Root integration tests of namespace options, bind mounts and named volumes on the real
 * kernel (runc + conmon + overlayfs). Own temp state dir; afterAll removes every container,
 * volume, mount and dir, even on failure.
 */
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import { DomainError, type ContainerSpecInput } from "@berth/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildBusyboxImage, buildTar } from "../images/busybox-seed";
import { ImageStore } from "../images/image-store";
import { ContainerService } from "./container-service";
import {
  logText as readText,
  removeAllAndClose,
  removeStateDir,
  rootOrCi,
  runParams as busyboxParams,
  tempStateDir,
  waitExited as waitExitedOf,
  waitFor,
} from "./testing/integration-fixture";

const ENABLED = rootOrCi(
  "volume and namespace integration tests need root (mounts, namespaces)",
  process.env.CI === "true",
);

const stateDir = tempStateDir("berth-vol-", ENABLED);
const hostDir = tempStateDir("berth-vol-host-", ENABLED);
let svc: ContainerService;

const runParams = (spec: Omit<ContainerSpecInput, "image"> & { image?: string }) =>
  busyboxParams("vol", spec);
const waitExited = (id: string) => waitExitedOf(svc, id);
const logText = (id: string) => readText(svc, id);

/** Runs `sh -c script` to its exit; returns exit code and output. */
async function runToExit(
  script: string,
  extra: Omit<ContainerSpecInput, "image" | "command"> = {},
): Promise<{ id: string; code: number | null; out: string }> {
  const p = runParams({ command: ["sh", "-c", script], ...extra });
  await svc.run(p);
  const st = await waitExited(p.containerId);
  return { id: p.containerId, code: st.exitCode, out: await logText(p.containerId) };
}

async function expectDomainError(p: Promise<unknown>, code: string, msg: RegExp): Promise<void> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(DomainError);
  expect((e as DomainError).kind, (e as Error).message).toBe(code);
  expect((e as Error).message).toMatch(msg);
}

function containerDirs(): string[] {
  return readdirSync(join(stateDir, "containers"));
}

describe.skipIf(!ENABLED)("namespaces, bind mounts and volumes (root)", () => {
  beforeAll(async () => {
    svc = await ContainerService.create({ stateDir });
  });

  afterAll(async () => {
    await removeAllAndClose(svc);
    removeStateDir(stateDir);
    if (hostDir) rmSync(hostDir, { recursive: true, force: true });
  });

  it("gives a container its own cgroup namespace by default", async () => {
    const p = runParams({ command: ["sleep", "1000"] });
    const st = await svc.run(p);
    const pid = st.pid!;
    for (const ns of ["cgroup", "pid", "ipc", "uts", "mnt", "net"])
      expect(readlinkSync(`/proc/${pid}/ns/${ns}`)).not.toBe(readlinkSync(`/proc/self/ns/${ns}`));
    await svc.remove({ containerId: p.containerId, force: true });
  });

  it("shares the host's pid, ipc and uts namespaces when asked", async () => {
    const p = runParams({
      command: ["sleep", "1000"],
      namespaces: { pid: "host", ipc: "host", uts: "host" },
    });
    const st = await svc.run(p);
    const pid = st.pid!;
    for (const ns of ["pid", "ipc", "uts"])
      expect(readlinkSync(`/proc/${pid}/ns/${ns}`)).toBe(readlinkSync(`/proc/self/ns/${ns}`));
    for (const ns of ["cgroup", "mnt", "net"])
      expect(readlinkSync(`/proc/${pid}/ns/${ns}`)).not.toBe(readlinkSync(`/proc/self/ns/${ns}`));
    await svc.remove({ containerId: p.containerId, force: true });
  });

  it("refuses --hostname with --uts=host before creating anything", async () => {
    const before = containerDirs();
    await expectDomainError(
      svc.run(runParams({ command: ["true"], hostname: "x1", namespaces: { uts: "host" } })),
      "invalid_input",
      /--hostname cannot be used with --uts=host/,
    );
    expect(containerDirs()).toEqual(before);
  });

  it("a read-only bind mount cannot be written; a read-write one can and the host sees it", async () => {
    const ro = join(hostDir, "ro");
    const rw = join(hostDir, "rw");
    mkdirSync(ro);
    mkdirSync(rw);
    writeFileSync(join(ro, "in.txt"), "from-host\n");
    const r = await runToExit(
      "cat /ro/in.txt; if echo x > /ro/new.txt; then echo WROTE; else echo ro-refused; fi; echo from-ctr > /rw/out.txt",
      {
        mounts: [
          { type: "bind", source: ro, target: "/ro", readOnly: true },
          { type: "bind", source: rw, target: "/rw" },
        ],
      },
    );
    expect(r.code).toBe(0);
    expect(r.out).toContain("from-host");
    expect(r.out).toContain("ro-refused");
    expect(r.out).not.toContain("WROTE");
    expect(existsSync(join(ro, "new.txt"))).toBe(false);
    expect(readFileSync(join(rw, "out.txt"), "utf8")).toBe("from-ctr\n");
  });

  it("refuses dangerous or missing bind sources and leaves nothing behind", async () => {
    const before = containerDirs();
    const cases: [string, string, RegExp][] = [
      ["/", "forbidden", /host's root filesystem/],
      ["/proc", "forbidden", /is \/proc/],
      ["/sys/fs", "forbidden", /inside \/sys/],
      ["/dev", "forbidden", /\/dev/],
      [stateDir, "forbidden", /state directory/],
      [join(stateDir, "containers"), "forbidden", /state directory/],
      [join(hostDir, "does-not-exist"), "invalid_input", /does not exist/],
    ];
    for (const [source, code, msg] of cases)
      await expectDomainError(
        svc.run(runParams({ command: ["true"], mounts: [{ type: "bind", source, target: "/m" }] })),
        code,
        msg,
      );
    expect(() =>
      runParams({
        command: ["true"],
        mounts: [{ type: "bind", source: `${hostDir}/../etc`, target: "/m" }],
      }),
    ).toThrow(/must not contain \.\./);
    await expectDomainError(
      svc.run(
        runParams({
          command: ["true"],
          mounts: [{ type: "bind", source: hostDir, target: "/proc/x" }],
        }),
      ),
      "invalid_input",
      /under \/proc/,
    );
    expect(containerDirs()).toEqual(before);
  });

  it("does not follow an image symlink pointing outside the rootfs for a mount target", async () => {
    // busybox plus a layer with `escape -> <hostDir>/outside` (absolute, so outside the root)
    const outside = join(hostDir, "outside");
    mkdirSync(outside);
    const src = join(hostDir, "payload");
    mkdirSync(src);
    writeFileSync(join(src, "marker"), "payload\n");
    const img = await buildBusyboxImage();
    const layerTar = await buildTar([{ name: "escape", type: "symlink", linkname: outside }]);
    const layer = gzipSync(layerTar);
    const sha = (b: Buffer) => `sha256:${createHash("sha256").update(b).digest("hex")}`;
    const config = JSON.parse(img.config.toString("utf8")) as {
      rootfs: { diff_ids: string[] };
    };
    config.rootfs.diff_ids = [sha(gunzipSync(img.layers[0]!)), sha(layerTar)];
    const configBuf = Buffer.from(JSON.stringify(config));
    const manifest = JSON.parse(img.manifest.toString("utf8")) as {
      config: { digest: string; size: number };
      layers: { mediaType: string; digest: string; size: number }[];
    };
    manifest.config = { ...manifest.config, digest: sha(configBuf), size: configBuf.length };
    manifest.layers.push({ ...manifest.layers[0]!, digest: sha(layer), size: layer.length });
    const store = await ImageStore.open(stateDir);
    await store.importImage("busybox-escape", {
      manifest: Buffer.from(JSON.stringify(manifest)),
      config: configBuf,
      layers: [...img.layers, layer],
    });

    const r = await runToExit("cat /escape/sub/marker", {
      image: "busybox-escape",
      mounts: [{ type: "bind", source: src, target: "/escape/sub", readOnly: true }],
    } as Omit<ContainerSpecInput, "command">);
    expect(r.code).toBe(0);
    expect(r.out).toContain("payload");
    // the host directory the symlink names was not touched: the mount went inside the rootfs
    expect(readdirSync(outside)).toEqual([]);
    expect(existsSync(join(outside, "sub"))).toBe(false);
  });

  it("a named volume is created on first use, persists across containers and is refused rm while in use", async () => {
    const w = await runToExit("echo persisted > /data/f.txt", {
      mounts: [{ type: "volume", source: "it-data", target: "/data" }],
    });
    expect(w.code).toBe(0);
    const info = await svc.volumeInspect({ name: "it-data" });
    expect(info.mountpoint).toBe(join(stateDir, "volumes", "it-data", "_data"));
    expect(readFileSync(join(info.mountpoint, "f.txt"), "utf8")).toBe("persisted\n");
    expect((await svc.volumeList()).map((v) => v.name)).toContain("it-data");

    const r = await runToExit("cat /data/f.txt", {
      mounts: [{ type: "volume", source: "it-data", target: "/data", readOnly: true }],
    });
    expect(r.out).toBe("persisted");

    // in use by two (exited) containers: refused, data kept
    await expectDomainError(svc.volumeRemove({ name: "it-data" }), "conflict", /in use by/);
    expect(existsSync(join(info.mountpoint, "f.txt"))).toBe(true);
    await svc.remove({ containerId: w.id, force: false });
    await expectDomainError(svc.volumeRemove({ name: "it-data" }), "conflict", /in use by/);
    await svc.remove({ containerId: r.id, force: false });
    expect(await svc.volumeRemove({ name: "it-data" })).toEqual({ removed: true });
    expect(existsSync(join(stateDir, "volumes", "it-data"))).toBe(false);
    await expectDomainError(svc.volumeInspect({ name: "it-data" }), "not_found", /not found/);
  });

  it("--userns=auto: uid 0 inside is an unprivileged uid outside, ranges disjoint, persisted and freed", async () => {
    const script =
      "echo made > /mine.txt; echo tmp > /tmp/t.txt; id -u; cat /proc/self/uid_map; sleep 1000";
    const a = runParams({ command: ["sh", "-c", script], userns: "auto" });
    const b = runParams({ command: ["sh", "-c", script], userns: "auto" });
    const sa = await svc.run(a);
    const sb = await svc.run(b);
    const ranges = JSON.parse(readFileSync(join(stateDir, "userns.json"), "utf8")) as {
      ranges: Record<string, number>;
    };
    const ra = ranges.ranges[a.containerId]!;
    const rb = ranges.ranges[b.containerId]!;
    expect(ra).toBeGreaterThanOrEqual(65_536);
    expect(Math.abs(ra - rb)).toBeGreaterThanOrEqual(65_536);
    for (const [st, r] of [
      [sa, ra],
      [sb, rb],
    ] as const) {
      const map = readFileSync(`/proc/${st.pid}/uid_map`, "utf8").trim().split(/\s+/).map(Number);
      expect(map).toEqual([0, r, 65_536]);
      expect(readFileSync(`/proc/${st.pid}/status`, "utf8")).toMatch(
        new RegExp(`^Uid:\\s+${r}\\s`, "m"),
      );
    }
    await waitFor("the container's output", async () =>
      (await logText(a.containerId)).includes("0 ") ? true : undefined,
    );
    expect((await logText(a.containerId)).split("\n")[0]).toBe("0");
    // files it created in its rw layer belong to the mapped uid on the host
    const upper = join(stateDir, "containers", a.containerId, "upper");
    await waitFor("files in the rw layer", () =>
      existsSync(join(upper, "mine.txt")) && existsSync(join(upper, "tmp", "t.txt"))
        ? true
        : undefined,
    );
    expect(statSync(join(upper, "mine.txt")).uid).toBe(ra);
    expect(statSync(join(upper, "tmp", "t.txt")).gid).toBe(ra);

    await svc.remove({ containerId: a.containerId, force: true });
    const after = JSON.parse(readFileSync(join(stateDir, "userns.json"), "utf8")) as {
      ranges: Record<string, number>;
    };
    expect(after.ranges[a.containerId]).toBeUndefined();
    expect(after.ranges[b.containerId]).toBe(rb);
    await svc.remove({ containerId: b.containerId, force: true });
    expect(
      (JSON.parse(readFileSync(join(stateDir, "userns.json"), "utf8")) as { ranges: object })
        .ranges,
    ).toEqual({});
  });

  it("volume create is idempotent and validates names", async () => {
    const a = await svc.volumeCreate({ name: "it-made" });
    const b = await svc.volumeCreate({ name: "it-made" });
    expect(b).toEqual(a);
    await expect(svc.volumeCreate({ name: "../x" })).rejects.toThrow(/volume names/);
    expect(await svc.volumeRemove({ name: "it-made" })).toEqual({ removed: true });
  });
});
