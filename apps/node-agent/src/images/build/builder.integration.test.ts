/**
 * The build executor against the real kernel and runc: a multi-stage Dockerfile is built
 * (RUN in real containers, COPY/ADD, whiteouts, config instructions), the image runs as a
 * container, a second build is fully cached with the same digest, a changed COPY input rebuilds
 * from that step, a failing RUN names its line and leaves nothing mounted, the GC keeps what the
 * cache references. Also prints cold and cached build times.
 */
import { execFileSync } from "node:child_process";
import { createReadStream, existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import * as tar from "tar-stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { detectCgroups } from "../../cgroups/detect";
import { ContainerService } from "../../containers/container-service";
import {
  logText,
  mountsUnder,
  removeAllAndClose,
  removeStateDir,
  rootOrCi,
  runParams,
  tempStateDir,
  waitExited,
} from "../../containers/testing/integration-fixture";
import { driverFor } from "../../cgroups/cgroup-driver";
import { mountOverlay } from "../../sys/mount";
import { ImageStore } from "../image-store";
import { Builder, type BuildProgress } from "./builder";

const ENABLED = rootOrCi(
  "build integration tests need root (overlay mounts, runc, cgroups)",
  process.env.CI === "true",
);
const stateDir = tempStateDir("berth-it-build-", ENABLED);
const ctxDir = join(stateDir, "ctx");
let svc: ContainerService;

const DOCKERFILE = `# syntax=docker/dockerfile:1
ARG BASE=busybox
FROM \${BASE} AS build
ARG GREETING=hello
ENV APP_HOME=/app
WORKDIR $APP_HOME
COPY greeting.txt ./
COPY src/ ./src/
COPY *.conf /etc/myapp/
RUN echo "$GREETING from build" | tee built.txt && ls /sys/class/net > links.txt
RUN rm src/b.txt && echo changed > src/a.txt && rm -r /etc/myapp && mkdir /etc/myapp && echo 3 > /etc/myapp/three.conf

FROM busybox
RUN echo 'app:x:1234:1234::/srv:/bin/sh' >> /etc/passwd && echo 'app:x:1234:' >> /etc/group
COPY --from=build --chown=app:app /app /srv
COPY --chown=1234 greeting.txt /srv/g2.txt
COPY . /ctx/
ADD bundle.tar.gz /opt/
ADD bundle.tar.xz /opt/xz/
USER app
WORKDIR /srv
LABEL org.example.k="v"
EXPOSE 8080/tcp
HEALTHCHECK --interval=5s CMD true
ENTRYPOINT ["sh", "-c"]
CMD ["cat built.txt src/a.txt; ls src; ls -ln g2.txt built.txt; cat links.txt; id -u; ls /ctx; cat /opt/bundle/x /opt/xz/bundle/x"]
`;

function write(rel: string, data: string): void {
  const p = join(ctxDir, rel);
  mkdirSync(join(p, ".."), { recursive: true });
  writeFileSync(p, data);
}

async function layerNames(digest: string): Promise<string[]> {
  const names: string[] = [];
  const extract = tar.extract();
  const done = (async () => {
    for await (const e of extract) {
      names.push(e.header.name);
      e.resume();
    }
  })();
  await pipeline(
    createReadStream(join(stateDir, "images/blobs/sha256", digest.slice(7))),
    createGunzip(),
    extract,
  );
  await done;
  return names;
}

async function buildCgroupsLeft(): Promise<string[]> {
  const layout = await detectCgroups();
  const out: string[] = [];
  for (const h of layout.hierarchies) {
    const dir = join(h.ownDir, "berth");
    if (!existsSync(dir)) continue;
    for (const n of readdirSync(dir)) if (n.startsWith("berth-build-")) out.push(join(dir, n));
  }
  return out;
}

describe.skipIf(!ENABLED)("build executor (root, runc)", () => {
  beforeAll(async () => {
    svc = await ContainerService.create({ stateDir });
    write("Dockerfile", DOCKERFILE);
    write("greeting.txt", "hi there\n");
    write("src/a.txt", "a\n");
    write("src/b.txt", "b\n");
    write("one.conf", "1\n");
    write("two.conf", "2\n");
    write("secret.txt", "do not ship\n");
    write(".dockerignore", "secret.txt\nbundle\n");
    write("bundle/x", "from the tarball\n");
    execFileSync("tar", ["-czf", join(ctxDir, "bundle.tar.gz"), "-C", ctxDir, "bundle"]);
    execFileSync("tar", ["-cJf", join(ctxDir, "bundle.tar.xz"), "-C", ctxDir, "bundle"]);
  });
  afterAll(async () => {
    await removeAllAndClose(svc);
    removeStateDir(stateDir);
  });

  let firstDigest = "";

  it("builds a multi-stage image that runs, with the config, whiteouts and no network", async () => {
    const events: BuildProgress[] = [];
    const t0 = performance.now();
    const r = await svc.build({ contextDir: ctxDir, tags: ["built:1"] }, (p) => events.push(p));
    const coldMs = performance.now() - t0;
    firstDigest = r.digest;
    expect(r.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(r.steps.every((s) => !s.cached)).toBe(true);
    expect(
      events.some((e) => e.type === "step" && /^#1 \[build 1\/8\] ARG GREETING/.test(e.message)),
    ).toBe(true);
    // RUN output is streamed.
    expect(events).toContainEqual(
      expect.objectContaining({ type: "output", stream: "stdout", line: "hello from build" }),
    );

    const img = await svc.imageInspect({ ref: "built:1" });
    expect(img.digest).toBe(r.digest);
    expect(img.config).toMatchObject({
      User: "app",
      WorkingDir: "/srv",
      Labels: { "org.example.k": "v" },
      ExposedPorts: { "8080/tcp": {} },
      Entrypoint: ["sh", "-c"],
      Healthcheck: { Test: ["CMD-SHELL", "true"], Interval: 5_000_000_000 },
    });
    expect(JSON.stringify(img.config.Cmd)).toContain("cat built.txt");
    expect(img.architecture).toBe("amd64");
    expect(img.os).toBe("linux");
    // Only the target stage's layers: busybox + RUN + 2 COPY + COPY . + ADD + WORKDIR? (/srv exists: no)
    const base = await svc.imageInspect({ ref: "busybox" });
    expect(img.layers.slice(0, base.layers.length).map((l) => l.digest)).toEqual(
      base.layers.map((l) => l.digest),
    );
    const own = img.layers.slice(base.layers.length);
    expect(own.length).toBe(6);
    expect(img.history.filter((h) => !h.empty_layer).length).toBe(img.layers.length);
    expect(
      img.history.some((h) => h.created_by === 'LABEL org.example.k="v"' && h.empty_layer),
    ).toBe(true);
    // .dockerignore: secret.txt is not in any layer
    for (const l of own)
      expect((await layerNames(l.digest)).some((n) => n.includes("secret"))).toBe(false);

    // The build stage's second RUN deleted src/b.txt: a whiteout in that layer. The build stage
    // image is not stored, so build it as the target to look at it.
    const b = await svc.build({ contextDir: ctxDir, tags: ["built:stage"], target: "build" });
    expect(b.steps.every((s) => s.cached)).toBe(true);
    const stage = await svc.imageInspect({ ref: "built:stage" });
    const last = stage.layers[stage.layers.length - 1]!;
    const names = await layerNames(last.digest);
    expect(names).toContain("app/src/.wh.b.txt");
    expect(names).toContain("app/src/a.txt");
    // …and /etc/myapp, removed and re-created, is an opaque directory.
    expect(names).toContain("etc/myapp/.wh..wh..opq");
    expect(names).toContain("etc/myapp/three.conf");

    // The image runs.
    const p = runParams("build", { image: "built:1" });
    await svc.run(p);
    expect((await waitExited(svc, p.containerId)).exitCode).toBe(0);
    const out = await logText(svc, p.containerId);
    expect(out).toContain("hello from build");
    expect(out).toContain("changed");
    expect(out).not.toContain("b.txt");
    expect(out).toMatch(/1234\s+1234\s.*g2\.txt/);
    expect(out).toMatch(/1234\s+1234\s.*built\.txt/);
    // RUN had a network namespace of its own with only lo (sysfs shows the netns's links).
    expect(out).toMatch(/^lo$/m);
    expect(out).not.toMatch(/^(eth|veth|br|ens|enp)/m);
    expect(out.split("\n")).toContain("1234");
    expect(out).toContain("greeting.txt");
    expect(out).not.toContain("secret.txt");
    expect(out.match(/from the tarball/g)?.length).toBe(2);

    // Fully cached second build: same digest.
    const cachedEvents: BuildProgress[] = [];
    const t1 = performance.now();
    const again = await svc.build({ contextDir: ctxDir, tags: ["built:1"] }, (e) =>
      cachedEvents.push(e),
    );
    const cachedMs = performance.now() - t1;
    expect(again.digest).toBe(r.digest);
    expect(again.steps.every((s) => s.cached)).toBe(true);
    expect(cachedEvents.some((e) => e.type === "cached" && / CACHED$/.test(e.message))).toBe(true);
    console.log(
      `build timing: cold ${coldMs.toFixed(0)} ms, fully cached ${cachedMs.toFixed(0)} ms (${r.steps.length} steps)`,
    );
    expect(mountsUnder(stateDir)).toEqual([]);
  });

  it("builds from a context tar stream (fully cached: same files, same digest)", async () => {
    const tarPath = join(stateDir, "ctx.tar.gz");
    execFileSync("tar", ["-czf", tarPath, "-C", ctxDir, "."]);
    const r = await svc.build({ tags: ["built:tar"] }, undefined, {
      contextTar: createReadStream(tarPath),
    });
    expect(r.steps.every((s) => s.cached)).toBe(true);
    expect(r.digest).toBe(firstDigest);
    await expect(svc.build({ tags: ["x:1"] })).rejects.toMatchObject({ kind: "invalid_input" });
  });

  it("rebuilds from a changed COPY input on", async () => {
    write("greeting.txt", "hi again\n");
    const r = await svc.build({ contextDir: ctxDir, tags: ["built:2"] });
    expect(r.digest).not.toBe(firstDigest);
    const copyLine = DOCKERFILE.split("\n").indexOf("COPY greeting.txt ./") + 1;
    const buildStage = r.steps.slice(0, 8);
    for (const s of buildStage) expect(s.cached).toBe(s.line < copyLine);
    // Final stage: its first RUN is cached, COPY --from=build (the build stage changed) is not.
    expect(r.steps[8]!.cached).toBe(true);
    expect(r.steps[9]!.cached).toBe(false);
    write("greeting.txt", "hi there\n");
  });

  it("keeps cached layers through image prune, so the cache still hits", async () => {
    for (const c of svc.list()) await svc.remove({ containerId: c.id, force: true });
    for (const ref of ["built:1", "built:2", "built:stage", "built:tar"])
      await svc.imageRemove({ ref, force: true });
    await svc.imagePrune({ all: false });
    // The image is gone (manifest freed by rmi's GC); its layers stay for the cache.
    expect(existsSync(join(stateDir, "images/blobs/sha256", firstDigest.slice(7)))).toBe(false);
    const r = await svc.build({ contextDir: ctxDir, tags: ["built:1"] });
    expect(r.steps.every((s) => s.cached)).toBe(true);
    expect(r.digest).toBe(firstDigest);
  });

  it("a failing RUN names its line and exit code and leaves no mount or cgroup", async () => {
    write("Dockerfile.fail", "FROM busybox\nENV X=1\nRUN echo about to fail && exit 3\n");
    const err = await svc.build({ contextDir: ctxDir, dockerfile: "Dockerfile.fail" }).then(
      () => undefined,
      (e: unknown) => e as Error & { kind?: string },
    );
    expect(err?.message).toMatch(
      /^Dockerfile\.fail:3: RUN echo about to fail && exit 3 failed with exit code 3:\nabout to fail/,
    );
    expect(mountsUnder(stateDir)).toEqual([]);
    expect(readdirSync(join(stateDir, "build")).filter((n) => n !== "runc")).toEqual([]);
    expect(await buildCgroupsLeft()).toEqual([]);
    // runc's state of the build container is gone too.
    expect(readdirSync(join(stateDir, "build", "runc"))).toEqual([]);
  });

  it("builds FROM scratch with COPY --from an image, and RUN as the stage's USER", async () => {
    write(
      "Dockerfile.from",
      [
        "FROM scratch AS tiny",
        "COPY --from=busybox:latest /bin/busybox /bin/busybox",
        "COPY --from=busybox:latest /etc/passwd /etc/group /etc/",
        'CMD ["/bin/busybox", "echo", "scratch ok"]',
        "FROM busybox AS user",
        "USER nobody",
        "RUN id -u",
        "",
      ].join("\n"),
    );
    const tiny = await svc.build({
      contextDir: ctxDir,
      dockerfile: "Dockerfile.from",
      target: "tiny",
      tags: ["tiny:1"],
    });
    const img = await svc.imageInspect({ ref: "tiny:1" });
    expect(img.digest).toBe(tiny.digest);
    expect(img.layers.length).toBe(2);
    const p = runParams("build", { image: "tiny:1" });
    await svc.run(p);
    expect((await waitExited(svc, p.containerId)).exitCode).toBe(0);
    expect(await logText(svc, p.containerId)).toBe("scratch ok");
    await svc.remove({ containerId: p.containerId, force: true });

    const lines: string[] = [];
    await svc.build({ contextDir: ctxDir, dockerfile: "Dockerfile.from", target: "user" }, (e) => {
      if (e.type === "output") lines.push(e.line);
    });
    expect(lines).toEqual(["65534"]);
  });

  it("starts only from the images the server allows (another team's is missing to the build)", async () => {
    write("Dockerfile.allowed", "FROM busybox:latest\nLABEL allowed=yes\n");
    const busybox = (await svc.imageInspect({ ref: "busybox:latest" })).digest;
    const opts = { contextDir: ctxDir, dockerfile: "Dockerfile.allowed" };
    const ok = await svc.build(opts, undefined, { images: new Set([busybox]) });
    expect((await svc.imageInspect({ ref: ok.digest })).digest).toBe(ok.digest);
    // Not in the list, and no puller: not found, as on a node that lacks it.
    await expect(
      svc.build({ ...opts, tags: ["denied:1"] }, undefined, {
        images: new Set([`sha256:${"0".repeat(64)}`]),
        pull: undefined,
      }),
    ).rejects.toMatchObject({
      kind: "not_found",
      message: expect.stringContaining('image "busybox:latest" not found on this node'),
    });
    await expect(svc.imageInspect({ ref: "denied:1" })).rejects.toMatchObject({
      kind: "not_found",
    });
  });

  it("clears a crashed build's mounts and dirs when the builder opens", async () => {
    const left = join(stateDir, "build", "0123456789abcdef", "m1");
    for (const d of ["lower", "upper", "work", "merged"])
      mkdirSync(join(left, d), { recursive: true });
    await mountOverlay({
      lowerDirs: [join(left, "lower")],
      upperDir: join(left, "upper"),
      workDir: join(left, "work"),
      target: join(left, "merged"),
    });
    expect(mountsUnder(stateDir)).toEqual([join(left, "merged")]);
    const layout = await detectCgroups();
    await Builder.open({
      stateDir,
      images: await ImageStore.open(stateDir),
      cgroups: driverFor(layout),
    });
    expect(mountsUnder(stateDir)).toEqual([]);
    expect(existsSync(join(stateDir, "build", "0123456789abcdef"))).toBe(false);
  });

  it("RUN uses the host network only when the build allows it", async () => {
    write("Dockerfile.net", "FROM busybox\nRUN ls /sys/class/net\n");
    const lines: string[] = [];
    await svc.build(
      { contextDir: ctxDir, dockerfile: "Dockerfile.net", allowHostNetwork: true },
      (p) => {
        if (p.type === "output") lines.push(p.line);
      },
    );
    expect(lines).toContain("lo");
    expect(lines.length).toBeGreaterThan(1); // the host's links too
    write("Dockerfile.net", "FROM busybox\nRUN --network=host true\n");
    await expect(
      svc.build({ contextDir: ctxDir, dockerfile: "Dockerfile.net" }),
    ).rejects.toMatchObject({
      kind: "forbidden",
      message: expect.stringMatching(/^Dockerfile\.net:2: RUN --network=host needs/),
    });
  });
});
