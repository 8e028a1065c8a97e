/**
 * bench/build: time of `build` of a small multi-step Dockerfile through the agent's engine
 * (ContainerService in-process, temp state dir): cold (every step runs: a fresh `ARG NONCE`
 * value changes every cache key) and fully cached (the same build again). Prints medians.
 *
 *   node --import tsx bench/build.ts [--runs 5]        (root: overlay mounts, runc)
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ContainerService } from "../apps/node-agent/src/containers/container-service";
import { median, table } from "./lib";

const { values } = parseArgs({ options: { runs: { type: "string", default: "5" } } });
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1 || runs > 100) {
  console.error("build: --runs must be an integer from 1 to 100");
  process.exit(2);
}

const DOCKERFILE = `FROM busybox
ARG NONCE
ENV APP=/app
WORKDIR /app
COPY src/ ./src/
RUN echo "$NONCE" > nonce && find src -type f | wc -l > count
RUN mkdir -p out && cp -r src out/ && rm -r out/src/d0
COPY config.json ./
EXPOSE 8080
CMD ["sh", "-c", "cat nonce count"]
`;

const state = mkdtempSync(join(tmpdir(), "berth-bench-build-"));
const ctx = join(state, "ctx");
let svc: ContainerService | undefined;
try {
  for (let d = 0; d < 5; d++)
    for (let f = 0; f < 20; f++) {
      mkdirSync(join(ctx, "src", `d${d}`), { recursive: true });
      writeFileSync(join(ctx, "src", `d${d}`, `f${f}.txt`), `file ${d}/${f}\n`.repeat(200));
    }
  writeFileSync(join(ctx, "config.json"), '{"a":1}\n');
  writeFileSync(join(ctx, "Dockerfile"), DOCKERFILE);
  svc = await ContainerService.create({ stateDir: join(state, "agent") });
  const cold: number[] = [];
  const cached: number[] = [];
  for (let i = 0; i < runs; i++) {
    const opts = {
      contextDir: ctx,
      tags: ["bench:build"],
      buildArgs: { NONCE: `${Date.now()}-${i}` },
    };
    let t0 = performance.now();
    const a = await svc.build(opts);
    cold.push(performance.now() - t0);
    if (a.steps.some((s) => s.cached)) throw new Error("cold build hit the cache");
    t0 = performance.now();
    const b = await svc.build(opts);
    cached.push(performance.now() - t0);
    if (!b.steps.every((s) => s.cached) || b.digest !== a.digest)
      throw new Error("second build was not fully cached with the same digest");
  }
  const steps = DOCKERFILE.trim().split("\n").length - 1;
  const row = (name: string, xs: number[]) => [
    name,
    median(xs).toFixed(0),
    Math.min(...xs).toFixed(0),
    Math.max(...xs).toFixed(0),
  ];
  console.log(
    table([
      [`build (${steps} steps, 100 files), ${runs} runs`, "median ms", "min ms", "max ms"],
      row("cold", cold),
      row("fully cached", cached),
    ]),
  );
} finally {
  await svc?.close();
  rmSync(state, { recursive: true, force: true });
}
