/**
 * The build executor: runs a BuildPlan (stages.ts) step by step and stores the result as an
 * OCI image.
 *
 * - A stage starts from scratch, an image of the store (pulled first through `deps.pull` when
 *   given) or an earlier stage's result (layers, config, history, last cache key).
 * - Every step has a cache key chained from its parent (cache-key.ts). A cache entry whose
 *   layer blob is still stored is reused without running anything (`CACHED`).
 * - RUN, COPY, ADD and WORKDIR change files: the step mounts an overlay of the layers so far
 *   (unpacked once as snapshots by the ImageStore) with a fresh upper dir, works in it,
 *   unmounts, and the upper dir becomes the step's layer (layer-diff.ts); no change → no layer
 *   (`empty_layer` in the history). RUN runs in a container (run-step.ts) with an init layer
 *   holding the mount points runc needs (/proc, /sys, /dev), so they never end up in a layer.
 * - The other instructions change only the config (and the history).
 * - The target stage's layers, config and history make the image: manifest and config are
 *   written to the content store and tagged. `created` is the time the last step was first
 *   built (from the cache), so a fully cached build gives the same digest.
 * - Everything a build mounts or creates lives in `<stateDir>/build/<id>/` and is unmounted and
 *   removed at the end, on success and on failure.
 */
import { randomBytes } from "node:crypto";
import { mkdir, readdir, rm } from "node:fs/promises";
import { join, posix } from "node:path";
import type { Readable } from "node:stream";
import { z } from "zod";
import { DomainError, invalidInput, type ContainerLimits } from "@berth/core";
import type { CgroupDriver } from "../../cgroups/cgroup-driver";
import { DEFAULT_PATH, resolveUser } from "../../containers/process-config";
import { RuncRuntime } from "../../runtime/runc-runtime";
import { DEFAULT_RUNTIME_PATHS } from "../../runtime/runtime-probe";
import { mountOverlay, readMountInfo, unmount } from "../../sys/mount";
import { resolveInRoot } from "../../sys/path";
import { ociArchitecture } from "../busybox-seed";
import { sha256Digest } from "../content-store";
import { chainIds, type ImageStore, type ResolvedImage } from "../image-store";
import {
  ImageConfigSchema,
  MEDIA_TYPE_CONFIG,
  MEDIA_TYPE_LAYER_GZIP,
  MEDIA_TYPE_MANIFEST,
  type ImageConfig,
  type Manifest,
} from "../oci";
import { parseReference } from "../reference";
import { BuildCache, type CacheEntry } from "./build-cache";
import { copyFromInputDigest, stepCacheKey } from "./cache-key";
import { BuildContext, digestSources, type ResolvedSource } from "./context";
import { addInto, copyInto, resolveChown } from "./copy-step";
import { parseDockerfile } from "./dockerfile";
import { commitUpperLayer, isEmptyDir, type LayerBlob } from "./layer-diff";
import { runStep } from "./run-step";
import { evaluateStage, planBuild, type BuildPlan, type Step } from "./stages";

/** What a `build` command carries (the context itself comes as a dir or a tar stream). */
export const BuildOptionsSchema = z.object({
  /** Absolute path of a context directory on the node (or give `contextTar`). */
  contextDir: z.string().startsWith("/", "the context dir must be an absolute path").optional(),
  /** The Dockerfile's path inside the context. */
  dockerfile: z.string().min(1).max(4096).default("Dockerfile"),
  /** `-t NAME:TAG`, each a valid reference without digest. */
  tags: z.array(z.string().min(1).max(512)).max(32).default([]),
  buildArgs: z.record(z.string().min(1).max(256), z.string().max(65536)).default({}),
  target: z.string().min(1).max(256).optional(),
  /** RUN may use the host network: the default for RUN, and `RUN --network=host` allowed. */
  allowHostNetwork: z.boolean().default(false),
});
export type BuildOptionsInput = z.input<typeof BuildOptionsSchema>;
export type BuildOptions = z.infer<typeof BuildOptionsSchema>;

export interface BuildStepResult {
  /** Dockerfile line of the instruction. */
  line: number;
  text: string;
  cached: boolean;
  ms: number;
}

export interface BuildResult {
  digest: string;
  tags: string[];
  steps: BuildStepResult[];
  warnings: string[];
}

/** Progress, as docker prints it; `message` is the line to show. */
export type BuildProgress =
  | { type: "step"; id: number; text: string; message: string }
  | { type: "cached"; id: number; message: string }
  | { type: "output"; id: number; stream: "stdout" | "stderr"; line: string; message: string }
  | { type: "done"; id: number; ms: number; message: string }
  | { type: "warning"; message: string };

export interface BuilderDeps {
  stateDir: string;
  images: ImageStore;
  /** Prepared driver (ContainerService's): RUN steps get a cgroup beneath the agent's own. */
  cgroups: CgroupDriver;
  /** runc binary (build steps always use runc). Default /usr/bin/runc. */
  runcPath?: string;
  /** Limits of every RUN step. Default: 2 GiB of memory (no extra swap), 4096 pids. */
  stepLimits?: Partial<ContainerLimits>;
}

/** What a build gets besides its options: the context stream, a puller. */
export interface BuildIo {
  /** The context as a (plain or gzip) tar stream, instead of `contextDir`. */
  contextTar?: Readable;
  /** Pulls an image the node lacks (FROM, COPY --from=image); absent: such a build fails. */
  pull?: (ref: string) => Promise<void>;
  /**
   * The images (digests) of the store this build may use (the server's list of what the
   * building team holds there); another one is treated as missing — pulled, or not found —
   * so a build never starts from another team's local image. Absent: every image.
   */
  images?: ReadonlySet<string> | undefined;
}

type History = NonNullable<ImageConfig["history"]>[number];
type RuntimeConfig = NonNullable<ImageConfig["config"]>;

interface StageState {
  layers: { digest: string; diffId: string; size: number; mediaType: string }[];
  config: RuntimeConfig;
  author: string | undefined;
  history: History[];
  /** Cache key of the last step (or of the base). */
  key: string;
  shell: string[] | undefined;
  created: string | undefined;
}

interface BuildRun {
  id: string;
  dir: string;
  /** Empty lower dir for scratch. */
  emptyDir: string;
  /** Lower dir with the mount points RUN needs. */
  initDir: string;
  plan: BuildPlan;
  ctx: BuildContext;
  opts: BuildOptions;
  pull: BuildIo["pull"];
  images: BuildIo["images"];
  onProgress: (p: BuildProgress) => void;
  counter: number;
  mounts: number;
  /** Blobs and snapshot chain ids (hex) in use: GC roots while the build runs. */
  blobs: Set<string>;
  snapshots: Set<string>;
}

const DEFAULT_STEP_LIMITS: Partial<ContainerLimits> = {
  memoryBytes: 2 * 1024 ** 3,
  memorySwapBytes: 2 * 1024 ** 3,
  pidsLimit: 4096,
};

function now(): string {
  return new Date().toISOString();
}

function envSet(env: string[], key: string, value: string): string[] {
  const out = env.filter((e) => e.split("=", 1)[0] !== key);
  out.push(`${key}=${value}`);
  return out;
}

export class Builder {
  private readonly active = new Set<BuildRun>();

  private constructor(
    private readonly deps: BuilderDeps,
    readonly cache: BuildCache,
    private readonly runc: RuncRuntime,
  ) {}

  /** Opens the cache and registers its layers (and running builds' blobs) as GC roots. */
  static async open(deps: BuilderDeps): Promise<Builder> {
    const cache = await BuildCache.open(deps.stateDir);
    const runc = await RuncRuntime.create(
      deps.runcPath ?? DEFAULT_RUNTIME_PATHS.runc,
      join(deps.stateDir, "build", "runc"),
    );
    const b = new Builder(deps, cache, runc);
    await b.recover();
    deps.images.addGcRoots(async () => {
      const blobs = await cache.layerDigests();
      const snapshots = new Set<string>();
      for (const r of b.active) {
        for (const d of r.blobs) blobs.add(d);
        for (const c of r.snapshots) snapshots.add(c);
      }
      return { blobs, snapshots };
    });
    return b;
  }

  /**
   * Clears what builds interrupted by an agent crash left: runc containers (and their cgroups),
   * overlay mounts and work dirs under `<stateDir>/build/`.
   */
  private async recover(): Promise<void> {
    const root = join(this.deps.stateDir, "build");
    for (const id of await readdir(this.runc.root).catch(() => [] as string[])) {
      if (!id.startsWith("berth-build-")) continue;
      await this.runc.delete(id, true).catch(() => undefined);
      await this.deps.cgroups.removeContainer(id).catch(() => undefined);
    }
    const mounts = (await readMountInfo())
      .map((m) => m.mountPoint)
      .filter((m) => m.startsWith(`${root}/`))
      .sort((a, b) => b.length - a.length);
    for (const m of mounts) await unmount(m).catch(() => undefined);
    for (const name of await readdir(root).catch(() => [] as string[]))
      if (/^[0-9a-f]{16}$/.test(name)) await rm(join(root, name), { recursive: true, force: true });
  }

  /**
   * Builds an image. `io.contextTar` (plain or gzip tar) replaces `opts.contextDir`. Resolves
   * with the image digest and, per step, whether it came from the cache and how long it took.
   */
  async build(
    input: BuildOptionsInput,
    onProgress: (p: BuildProgress) => void = () => undefined,
    io: BuildIo = {},
  ): Promise<BuildResult> {
    const opts = BuildOptionsSchema.parse(input);
    const contextTar = io.contextTar;
    if ((opts.contextDir === undefined) === (contextTar === undefined))
      throw invalidInput("give exactly one build context: a directory or a tar stream");
    for (const t of opts.tags) {
      if (parseReference(t).digest !== undefined)
        throw invalidInput(`cannot tag with a digest reference ("${t}"): use NAME[:TAG]`);
    }
    const id = randomBytes(8).toString("hex");
    const dir = join(this.deps.stateDir, "build", id);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    let ctx: BuildContext | undefined;
    let run: BuildRun | undefined;
    try {
      ctx = contextTar
        ? await BuildContext.fromTar(contextTar, { tempDir: dir })
        : await BuildContext.open(opts.contextDir!);
      const text = await ctx.readDockerfile(opts.dockerfile);
      const parsed = parseDockerfile(text, { file: posix.basename(opts.dockerfile) });
      const plan = planBuild(parsed, {
        buildArgs: opts.buildArgs,
        ...(opts.target === undefined ? {} : { target: opts.target }),
        platform: { os: "linux", architecture: ociArchitecture() },
      });
      const emptyDir = join(dir, "empty");
      const initDir = join(dir, "init");
      await mkdir(emptyDir, { mode: 0o755 });
      for (const d of ["proc", "sys", "dev"])
        await mkdir(join(initDir, d), { recursive: true, mode: 0o755 });
      run = {
        id,
        dir,
        emptyDir,
        initDir,
        plan,
        ctx,
        opts,
        pull: io.pull,
        images: io.images,
        onProgress,
        counter: 0,
        mounts: 0,
        blobs: new Set(),
        snapshots: new Set(),
      };
      this.active.add(run);
      const warnings = [...parsed.warnings, ...plan.warnings];
      if (plan.unusedBuildArgs.length > 0)
        warnings.push(
          `[Warning] One or more build-args [${plan.unusedBuildArgs.join(" ")}] were not consumed`,
        );
      for (const w of warnings) onProgress({ type: "warning", message: w });
      const steps: BuildStepResult[] = [];
      const states = new Map<number, StageState>();
      for (const index of plan.order)
        states.set(index, await this.buildStage(run, index, states, steps));
      const digest = await this.storeImage(run, states.get(plan.target)!);
      for (const t of opts.tags) await this.deps.images.tag(t, digest);
      return { digest, tags: opts.tags, steps, warnings };
    } finally {
      if (run) this.active.delete(run);
      await ctx?.dispose().catch(() => undefined);
      await rm(dir, { recursive: true, force: true }).catch(() => undefined);
    }
  }

  private async baseState(run: BuildRun, index: number, states: Map<number, StageState>) {
    const stage = run.plan.stages[index]!;
    if (stage.base.type === "scratch")
      return {
        layers: [],
        config: {},
        author: undefined,
        history: [],
        key: "scratch",
        shell: undefined,
        created: undefined,
      } satisfies StageState;
    if (stage.base.type === "stage") {
      const s = states.get(stage.base.index)!;
      return structuredClone(s);
    }
    const img = await this.image(run, stage.base.ref, stage.parsed.from.line);
    return {
      layers: img.manifest.layers.map((l, i) => ({
        digest: l.digest,
        diffId: img.config.rootfs.diff_ids[i]!,
        size: l.size,
        mediaType: l.mediaType,
      })),
      config: structuredClone(img.config.config ?? {}),
      author: img.config.author,
      history: structuredClone(img.config.history ?? []),
      key: img.digest,
      shell: img.config.config?.Shell ?? undefined,
      created: img.config.created,
    } satisfies StageState;
  }

  /** An image of the store (pulled when missing and a puller is set); its blobs are kept. */
  private async image(run: BuildRun, ref: string, line: number): Promise<ResolvedImage> {
    let img: ResolvedImage;
    try {
      img = await this.deps.images.resolve(ref);
      // Not one the build may use: as if the node lacked it (never another team's content).
      if (run.images !== undefined && !run.images.has(img.digest))
        throw new DomainError("not_found", `image "${ref}" not found`);
    } catch (e) {
      if (!(e instanceof DomainError) || e.kind !== "not_found") throw e;
      if (!run.pull)
        throw new DomainError(
          "not_found",
          `${run.plan.file}:${line}: image "${ref}" not found on this node: pull it first`,
          { file: run.plan.file, line, ref },
        );
      await run.pull(ref);
      img = await this.deps.images.resolve(ref);
    }
    run.blobs.add(img.digest);
    run.blobs.add(img.manifest.config.digest);
    for (const l of img.manifest.layers) run.blobs.add(l.digest);
    return img;
  }

  private async buildStage(
    run: BuildRun,
    index: number,
    states: Map<number, StageState>,
    results: BuildStepResult[],
  ): Promise<StageState> {
    const stage = run.plan.stages[index]!;
    const st = await this.baseState(run, index, states);
    const ev = evaluateStage(run.plan, index, {
      env: st.config.Env ?? [],
      ...(st.config.WorkingDir ? { workingDir: st.config.WorkingDir } : {}),
      ...(st.config.User ? { user: st.config.User } : {}),
      ...(st.shell ? { shell: st.shell } : {}),
    });
    const label = stage.name ?? `stage-${index}`;
    const total = ev.steps.length;
    let cmdSet = false;
    for (const [i, step] of ev.steps.entries()) {
      const id = ++run.counter;
      const head = `#${id} [${label} ${i + 1}/${total}] ${step.original.replace(/\s+/g, " ").trim()}`;
      run.onProgress({ type: "step", id, text: step.text, message: head });
      const t0 = performance.now();
      const { key, prepared } = await this.keyOf(run, st, step, states);
      const hit = await this.cacheHit(key);
      let entry: CacheEntry;
      if (hit) {
        entry = hit;
        run.onProgress({ type: "cached", id, message: `${head} CACHED` });
      } else {
        const layer = await this.execute(run, st, step, id, prepared, states);
        entry = {
          version: 1,
          layer: layer ? { digest: layer.digest, diffId: layer.diffId, size: layer.size } : null,
          created: now(),
        };
        await this.cache.put(key, entry);
      }
      if (entry.layer) {
        st.layers.push({ ...entry.layer, mediaType: MEDIA_TYPE_LAYER_GZIP });
        run.blobs.add(entry.layer.digest);
      }
      if (step.keyword === "CMD") cmdSet = true;
      this.applyConfig(st, step, cmdSet);
      if (step.keyword !== "ARG")
        st.history.push({
          created: entry.created,
          created_by: step.text,
          ...(entry.layer ? {} : { empty_layer: true }),
        });
      st.key = key;
      st.created = entry.created;
      const ms = Math.round(performance.now() - t0);
      results.push({ line: step.line, text: step.text, cached: hit !== undefined, ms });
      run.onProgress({
        type: "done",
        id,
        ms,
        message: `#${id} DONE ${(ms / 1000).toFixed(1)}s${hit ? " (cached)" : ""}`,
      });
    }
    st.shell = ev.final.shell;
    return st;
  }

  private async cacheHit(key: string): Promise<CacheEntry | undefined> {
    const e = await this.cache.get(key);
    if (!e) return undefined;
    if (e.layer && !(await this.deps.images.content.has(e.layer.digest))) return undefined;
    return e;
  }

  private networkOf(run: BuildRun, step: Extract<Step, { keyword: "RUN" }>): "none" | "host" {
    if (step.network === "none") return "none";
    if (step.network === "host") {
      if (!run.opts.allowHostNetwork)
        throw new DomainError(
          "forbidden",
          `${run.plan.file}:${step.line}: RUN --network=host needs the build option to allow the host network (berth build --network=host)`,
          { file: run.plan.file, line: step.line },
        );
      return "host";
    }
    return run.opts.allowHostNetwork ? "host" : "none";
  }

  /** The step's cache key; COPY from the context resolves (and hashes) its sources here. */
  private async keyOf(
    run: BuildRun,
    st: StageState,
    step: Step,
    states: Map<number, StageState>,
  ): Promise<{ key: string; prepared: ResolvedSource[] | undefined }> {
    let input: string | undefined;
    let network: "none" | "host" | undefined;
    let prepared: ResolvedSource[] | undefined;
    if (step.keyword === "COPY" || step.keyword === "ADD") {
      if (step.from.type === "context") {
        prepared = await run.ctx.resolveSources(
          step.sources,
          { file: run.plan.file, line: step.line, keyword: step.keyword },
          step.destIsDir,
        );
        input = await digestSources(prepared);
      } else if (step.from.type === "stage") {
        input = copyFromInputDigest(states.get(step.from.index)!.key, step.sources);
      } else {
        const img = await this.image(run, step.from.ref, step.line);
        input = copyFromInputDigest(img.digest, step.sources);
      }
    } else if (step.keyword === "RUN") {
      network = this.networkOf(run, step);
    }
    const key = stepCacheKey({
      parent: st.key,
      platform: `linux/${ociArchitecture()}`,
      instruction: step.text,
      vars: step.vars,
      ...(input === undefined ? {} : { input }),
      ...(network === undefined ? {} : { network }),
    });
    return { key, prepared };
  }

  /** Lower dirs (topmost first) for `layers`: snapshots unpacked once by the ImageStore. */
  private async lowerDirs(run: BuildRun, layers: StageState["layers"]): Promise<string[]> {
    if (layers.length === 0) return [run.emptyDir];
    for (const c of chainIds(layers.map((l) => l.diffId)))
      run.snapshots.add(c.slice("sha256:".length));
    const img: ResolvedImage = {
      ref: `build:${run.id}`,
      digest: "sha256:" + "0".repeat(64),
      manifest: {
        schemaVersion: 2,
        config: { mediaType: MEDIA_TYPE_CONFIG, digest: "sha256:" + "0".repeat(64), size: 0 },
        layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
      },
      config: {
        architecture: ociArchitecture(),
        os: "linux",
        rootfs: { type: "layers", diff_ids: layers.map((l) => l.diffId) },
      },
    };
    return this.deps.images.prepareLayers(img);
  }

  /**
   * Mounts an overlay of `layers` (+ `extraTop` lowers) with a fresh upper dir, runs `fn` on
   * the merged rootfs, unmounts, and returns the upper dir's layer (undefined: no change).
   */
  private async withOverlay(
    run: BuildRun,
    layers: StageState["layers"],
    o: { init: boolean; commit: boolean },
    fn: (rootfs: string, stepDir: string) => Promise<void>,
  ): Promise<LayerBlob | undefined> {
    const stepDir = join(run.dir, `m${++run.mounts}`);
    const upper = join(stepDir, "upper");
    const work = join(stepDir, "work");
    const merged = join(stepDir, "merged");
    for (const d of [upper, work, merged]) await mkdir(d, { recursive: true, mode: 0o755 });
    try {
      const lowers = await this.lowerDirs(run, layers);
      await mountOverlay({
        lowerDirs: o.init ? [run.initDir, ...lowers] : lowers,
        upperDir: upper,
        workDir: work,
        target: merged,
        // The upper dir must be a complete diff: no directory renames by redirect xattr, no
        // metadata-only copy-ups (both off by default, but kernels may be built with them on).
        options: ["redirect_dir=off", "metacopy=off"],
      });
      try {
        await fn(merged, stepDir);
      } finally {
        await unmount(merged);
      }
      if (!o.commit || (await isEmptyDir(upper))) return undefined;
      const blob = await commitUpperLayer(
        upper,
        join(stepDir, "layer.tar.gz"),
        this.deps.images.content,
      );
      // The upper dir is the next steps' lower as is: adopted as the layer's snapshot (no unpack).
      const chain = chainIds([...layers.map((l) => l.diffId), blob.diffId]).at(-1)!;
      run.snapshots.add(chain.slice("sha256:".length));
      await this.deps.images.adoptSnapshot(chain, upper);
      return blob;
    } finally {
      await unmount(merged).catch(() => undefined);
      await rm(stepDir, { recursive: true, force: true });
    }
  }

  /** Runs a step that missed the cache; returns its layer (undefined: none). */
  private async execute(
    run: BuildRun,
    st: StageState,
    step: Step,
    id: number,
    prepared: ResolvedSource[] | undefined,
    states: Map<number, StageState>,
  ): Promise<LayerBlob | undefined> {
    switch (step.keyword) {
      case "WORKDIR":
        // Created (root-owned, 0755) when missing, as Docker does; a layer only if it was.
        return this.withOverlay(run, st.layers, { init: false, commit: true }, (rootfs) =>
          mkdirAll(rootfs, step.path),
        );
      case "RUN":
        return this.withOverlay(
          run,
          st.layers,
          { init: true, commit: true },
          async (rootfs, stepDir) => {
            const env = step.env.some((e) => e.startsWith("PATH="))
              ? step.env
              : [`PATH=${DEFAULT_PATH}`, ...step.env];
            const user = await resolveUser(rootfs, st.config.User || undefined);
            const r = await runStep({
              runc: this.runc,
              cgroups: this.deps.cgroups,
              rootfs,
              bundleDir: join(stepDir, "bundle"),
              argv: step.argv,
              env,
              cwd: st.config.WorkingDir || "/",
              uid: user.uid,
              gid: user.gid,
              network: this.networkOf(run, step),
              limits: this.deps.stepLimits ?? DEFAULT_STEP_LIMITS,
              onLine: (stream, line) =>
                run.onProgress({ type: "output", id, stream, line, message: `#${id} ${line}` }),
            });
            if (r.exitCode !== 0) {
              const cmd = step.original.replace(/\s+/g, " ").trim();
              throw new DomainError(
                "runtime",
                `${run.plan.file}:${step.line}: ${cmd} failed with exit code ${r.exitCode}${
                  r.tail.length ? `:\n${r.tail.join("\n")}` : ""
                }`,
                { file: run.plan.file, line: step.line, exitCode: r.exitCode, output: r.tail },
              );
            }
          },
        );
      case "COPY":
      case "ADD": {
        const copy = async (rootfs: string, resolved: ResolvedSource[], stepDir: string) => {
          const owner = await resolveChown(rootfs, step.chown);
          if (step.keyword === "ADD")
            await addInto(rootfs, resolved, step.dest, step.destIsDir, owner, step.chmod, stepDir);
          else await copyInto(rootfs, resolved, step.dest, step.destIsDir, owner, step.chmod);
        };
        if (step.from.type === "context")
          return this.withOverlay(run, st.layers, { init: false, commit: true }, (rootfs, d) =>
            copy(rootfs, prepared!, d),
          );
        const layers =
          step.from.type === "image"
            ? await this.imageLayers(run, step.from.ref, step.line)
            : states.get(step.from.index)!.layers;
        let result: LayerBlob | undefined;
        await this.withOverlay(run, layers, { init: false, commit: false }, async (srcRoot) => {
          const src = await BuildContext.open(srcRoot);
          const resolved = await src.resolveSources(
            step.sources.map((s) => posix.normalize(`/${s}`).slice(1) || "."),
            { file: run.plan.file, line: step.line, keyword: step.keyword },
            step.destIsDir,
          );
          result = await this.withOverlay(
            run,
            st.layers,
            { init: false, commit: true },
            (rootfs, d) => copy(rootfs, resolved, d),
          );
        });
        return result;
      }
      default:
        return undefined;
    }
  }

  private async imageLayers(run: BuildRun, ref: string, line: number) {
    const img = await this.image(run, ref, line);
    return img.manifest.layers.map((l, i) => ({
      digest: l.digest,
      size: l.size,
      mediaType: l.mediaType,
      diffId: img.config.rootfs.diff_ids[i]!,
    }));
  }

  private applyConfig(st: StageState, step: Step, cmdSetInStage: boolean): void {
    const c = st.config;
    switch (step.keyword) {
      case "ENV":
        for (const p of step.pairs) c.Env = envSet(c.Env ?? [], p.key, p.value);
        break;
      case "LABEL":
        c.Labels = { ...(c.Labels ?? {}) };
        for (const p of step.pairs) c.Labels[p.key] = p.value;
        break;
      case "WORKDIR":
        c.WorkingDir = step.path;
        break;
      case "USER":
        c.User = step.user;
        break;
      case "STOPSIGNAL":
        c.StopSignal = step.signal;
        break;
      case "MAINTAINER":
        st.author = step.author;
        break;
      case "CMD":
        c.Cmd = step.argv;
        break;
      case "ENTRYPOINT":
        c.Entrypoint = step.argv;
        // Docker: an ENTRYPOINT resets a CMD inherited from the base.
        if (!cmdSetInStage) c.Cmd = null;
        break;
      case "EXPOSE":
        c.ExposedPorts = { ...(c.ExposedPorts ?? {}) };
        for (const p of step.ports) c.ExposedPorts[p] = {};
        break;
      case "VOLUME":
        c.Volumes = { ...(c.Volumes ?? {}) };
        for (const p of step.paths) c.Volumes[p] = {};
        break;
      case "SHELL":
        c.Shell = step.argv;
        st.shell = step.argv;
        break;
      case "HEALTHCHECK":
        c.Healthcheck = {
          Test: step.test,
          ...(step.intervalNs === undefined ? {} : { Interval: step.intervalNs }),
          ...(step.timeoutNs === undefined ? {} : { Timeout: step.timeoutNs }),
          ...(step.startPeriodNs === undefined ? {} : { StartPeriod: step.startPeriodNs }),
          ...(step.startIntervalNs === undefined ? {} : { StartInterval: step.startIntervalNs }),
          ...(step.retries === undefined ? {} : { Retries: step.retries }),
        };
        break;
      default:
        break;
    }
  }

  /** Writes the target stage's config and manifest to the content store. */
  private async storeImage(run: BuildRun, st: StageState): Promise<string> {
    const config: ImageConfig = ImageConfigSchema.parse({
      ...(st.created === undefined ? {} : { created: st.created }),
      ...(st.author === undefined ? {} : { author: st.author }),
      architecture: ociArchitecture(),
      os: "linux",
      config: st.config,
      rootfs: { type: "layers", diff_ids: st.layers.map((l) => l.diffId) },
      history: st.history,
    });
    const configBlob = Buffer.from(JSON.stringify(config));
    const configDigest = sha256Digest(configBlob);
    run.blobs.add(configDigest);
    await this.deps.images.content.put(configBlob, configDigest);
    const manifest: Manifest = {
      schemaVersion: 2,
      mediaType: MEDIA_TYPE_MANIFEST,
      config: { mediaType: MEDIA_TYPE_CONFIG, digest: configDigest, size: configBlob.length },
      layers: st.layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
    };
    const manifestBlob = Buffer.from(JSON.stringify(manifest));
    // Kept by the GC until tagged (the build's roots cover it until build() returns).
    run.blobs.add(sha256Digest(manifestBlob));
    return this.deps.images.content.put(manifestBlob);
  }
}

/** `mkdir -p` of an absolute path inside the rootfs (owned by root, 0755). */
async function mkdirAll(rootfs: string, path: string): Promise<void> {
  const parts = path.split("/").filter((p) => p !== "");
  let cur = "/";
  for (const p of parts) {
    cur = posix.join(cur, p);
    const host = await resolveInRoot(rootfs, cur);
    await mkdir(host).catch((e: unknown) => {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    });
  }
}
