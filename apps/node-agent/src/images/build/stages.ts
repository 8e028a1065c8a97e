/**
 * Stage graph and variable substitution of a parsed Dockerfile.
 *
 * planBuild() resolves the global ARGs, expands each FROM with them (only global args are
 * visible to FROM, as in Docker), names the stages, picks the target (`--target`, default the
 * last stage), and keeps only the stages the target needs (its FROM chain and COPY --from
 * sources, transitively) in an order where dependencies come first: unused stages are
 * skipped, as BuildKit does. It also lists the build args nothing declared (a warning).
 *
 * evaluateStage() walks one stage with its base image's config and yields every instruction
 * with its words expanded: ENV from the base image and earlier ENV/ARG lines are visible, ENV
 * wins over ARG of the same name, RUN/CMD/ENTRYPOINT are not expanded (the shell does it) but
 * shell forms are wrapped in the current SHELL. Each step carries its normalized text and the
 * variables it can see, the inputs of its cache key (cache-key.ts).
 */
import { posix } from "node:path";
import { parseReference } from "../reference";
import {
  type ArgInstruction,
  type CommandForm,
  type CopyInstruction,
  DockerfileError,
  type Instruction,
  type ParsedDockerfile,
  type ParsedStage,
} from "./dockerfile";
import { expandWord, expandWords, ShellLexError, type VarLookup } from "./shell-lex";

/** Args usable without an ARG line (in RUN's environment) and kept out of history/cache keys. */
export const PROXY_ARGS = [
  "HTTP_PROXY",
  "http_proxy",
  "HTTPS_PROXY",
  "https_proxy",
  "FTP_PROXY",
  "ftp_proxy",
  "NO_PROXY",
  "no_proxy",
  "ALL_PROXY",
  "all_proxy",
] as const;

export interface BuildPlatform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface PlanOptions {
  /** `--build-arg K=V`. */
  buildArgs?: Record<string, string>;
  /** `--target STAGE` (name or index). Default: the last stage. */
  target?: string;
  /** Platform built for and on. Default linux/amd64. */
  platform?: BuildPlatform;
}

export type StageBase =
  { type: "scratch" } | { type: "image"; ref: string } | { type: "stage"; index: number };

export type CopySource =
  { type: "context" } | { type: "stage"; index: number } | { type: "image"; ref: string };

export interface StagePlan {
  index: number;
  name: string | undefined;
  base: StageBase;
  /** `FROM --platform=` after expansion. */
  platform: string | undefined;
  /** Stages this one needs (FROM <stage>, COPY --from=<stage>). */
  dependsOn: number[];
  /** Images read by COPY --from=<image>. */
  copyFromImages: string[];
  parsed: ParsedStage;
}

export interface BuildPlan {
  file: string;
  escape: "\\" | "`";
  stages: StagePlan[];
  /** Index of the target stage. */
  target: number;
  /** Stages to build, dependencies first; ends with the target. */
  order: number[];
  /** Global (pre-FROM) args after build-arg overrides; undefined = declared without value. */
  globalArgs: Map<string, string | undefined>;
  buildArgs: Record<string, string>;
  /** Automatic platform args (TARGETPLATFORM, TARGETARCH, BUILDPLATFORM...). */
  automaticArgs: Record<string, string>;
  /** `--build-arg` names no ARG of a built stage (or the global scope) declares. */
  unusedBuildArgs: string[];
  warnings: string[];
}

function automaticArgs(p: BuildPlatform): Record<string, string> {
  const plat = `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ""}`;
  const v = p.variant ?? "";
  return {
    TARGETPLATFORM: plat,
    TARGETOS: p.os,
    TARGETARCH: p.architecture,
    TARGETVARIANT: v,
    BUILDPLATFORM: plat,
    BUILDOS: p.os,
    BUILDARCH: p.architecture,
    BUILDVARIANT: v,
  };
}

function expander(file: string, line: number, escape: string) {
  return {
    word(w: string, lookup: VarLookup): string {
      try {
        return expandWord(w, lookup, escape);
      } catch (e) {
        if (e instanceof ShellLexError) throw new DockerfileError(file, line, e.message);
        throw e;
      }
    },
    words(w: string, lookup: VarLookup): string[] {
      try {
        return expandWords(w, lookup, escape);
      } catch (e) {
        if (e instanceof ShellLexError) throw new DockerfileError(file, line, e.message);
        throw e;
      }
    },
  };
}

/** Value of a stage-level `ARG name[=default]` given what is known. */
function argValue(
  arg: { name: string; default: string | undefined },
  plan: Pick<BuildPlan, "buildArgs" | "globalArgs" | "automaticArgs">,
  expandDefault: (d: string) => string,
): string | undefined {
  if (Object.hasOwn(plan.buildArgs, arg.name)) return plan.buildArgs[arg.name];
  if (arg.default !== undefined) return expandDefault(arg.default);
  if (plan.globalArgs.has(arg.name)) return plan.globalArgs.get(arg.name);
  if (Object.hasOwn(plan.automaticArgs, arg.name)) return plan.automaticArgs[arg.name];
  return undefined;
}

function looksLikeImageRef(s: string): boolean {
  return /[:/@]/.test(s);
}

/** Resolves stages, target and execution order. Throws DockerfileError. */
export function planBuild(df: ParsedDockerfile, opts: PlanOptions = {}): BuildPlan {
  const buildArgs = { ...(opts.buildArgs ?? {}) };
  const auto = automaticArgs(opts.platform ?? { os: "linux", architecture: "amd64" });
  const fail = (line: number | undefined, msg: string): never => {
    throw new DockerfileError(df.file, line, msg);
  };

  // Global args, in order; each default sees the ones before it and the automatic args.
  const globalArgs = new Map<string, string | undefined>();
  const globalLookup: VarLookup = (n) =>
    globalArgs.has(n) ? globalArgs.get(n) : Object.hasOwn(auto, n) ? auto[n] : undefined;
  for (const a of df.globalArgs) {
    const x = expander(df.file, a.line, df.escape);
    for (const arg of a.args) {
      const v = Object.hasOwn(buildArgs, arg.name)
        ? buildArgs[arg.name]
        : arg.default !== undefined
          ? x.word(arg.default, globalLookup)
          : undefined;
      globalArgs.set(arg.name, v);
    }
  }

  const partial = { buildArgs, globalArgs, automaticArgs: auto };
  const stages: StagePlan[] = [];
  const byName = new Map<string, number>();
  for (const s of df.stages) {
    const from = s.from;
    const x = expander(df.file, from.line, df.escape);
    const image = x.word(from.image, globalLookup);
    if (image.trim() === "") fail(from.line, `base name (${from.image}) should not be blank`);
    const platform = from.platform === undefined ? undefined : x.word(from.platform, globalLookup);
    let base: StageBase;
    const lower = image.toLowerCase();
    if (lower === "scratch") base = { type: "scratch" };
    else if (byName.has(lower)) base = { type: "stage", index: byName.get(lower)! };
    else {
      try {
        parseReference(image);
      } catch (e) {
        fail(
          from.line,
          `invalid base image reference ${JSON.stringify(image)}: ${(e as Error).message}`,
        );
      }
      base = { type: "image", ref: image };
    }
    const dependsOn = base.type === "stage" ? [base.index] : [];
    const copyFromImages: string[] = [];

    // COPY --from, expanded with the global args and the stage's ARGs declared before it.
    const stageArgs = new Map<string, string | undefined>();
    const lookup: VarLookup = (n) => (stageArgs.has(n) ? stageArgs.get(n) : undefined);
    for (const ins of s.instructions) {
      if (ins.keyword === "ARG") {
        const xi = expander(df.file, ins.line, df.escape);
        for (const arg of ins.args)
          stageArgs.set(
            arg.name,
            argValue(arg, partial, (d) => xi.word(d, lookup)),
          );
      }
      if (ins.keyword === "COPY" && ins.from !== undefined) {
        const src = resolveCopyFrom(ins, s.index, byName, df.file, df.escape, lookup);
        if (src.type === "stage" && !dependsOn.includes(src.index)) dependsOn.push(src.index);
        if (src.type === "image" && !copyFromImages.includes(src.ref)) copyFromImages.push(src.ref);
      }
    }
    stages.push({
      index: s.index,
      name: from.stageName,
      base,
      platform,
      dependsOn,
      copyFromImages,
      parsed: s,
    });
    if (from.stageName !== undefined) byName.set(from.stageName, s.index);
  }

  let target = stages.length - 1;
  if (opts.target !== undefined && opts.target !== "") {
    const t = opts.target.toLowerCase();
    const idx = byName.get(t);
    if (idx === undefined) {
      const names = stages.flatMap((s) => (s.name ? [s.name] : []));
      fail(
        undefined,
        `target stage "${opts.target}" could not be found${names.length ? ` (stages: ${names.join(", ")})` : " (no stage is named with AS)"}`,
      );
    }
    target = idx!;
  }

  const order: number[] = [];
  const visit = (i: number) => {
    if (order.includes(i)) return;
    for (const d of stages[i]!.dependsOn) visit(d);
    order.push(i);
  };
  visit(target);

  const declared = new Set<string>(globalArgs.keys());
  for (const i of order)
    for (const ins of stages[i]!.parsed.instructions)
      if (ins.keyword === "ARG") for (const a of ins.args) declared.add(a.name);
  const unusedBuildArgs = Object.keys(buildArgs)
    .filter((k) => !declared.has(k) && !(PROXY_ARGS as readonly string[]).includes(k))
    .sort();
  const warnings = [...df.warnings];
  if (unusedBuildArgs.length > 0)
    warnings.push(`one or more build args were not consumed: ${unusedBuildArgs.join(", ")}`);

  return {
    file: df.file,
    escape: df.escape,
    stages,
    target,
    order,
    globalArgs,
    buildArgs,
    automaticArgs: auto,
    unusedBuildArgs,
    warnings,
  };
}

function resolveCopyFrom(
  ins: CopyInstruction,
  current: number,
  byName: Map<string, number>,
  file: string,
  escape: string,
  lookup: VarLookup,
): CopySource {
  const raw = expander(file, ins.line, escape).word(ins.from!, lookup);
  const fail = (msg: string): never => {
    throw new DockerfileError(file, ins.line, msg);
  };
  if (raw === "") fail(`COPY --from=${ins.from}: empty value`);
  if (/^[0-9]+$/.test(raw)) {
    const idx = Number(raw);
    if (idx >= current)
      fail(
        `COPY --from=${raw}: it refers to the current or a later build stage (this is stage ${current})`,
      );
    return { type: "stage", index: idx };
  }
  const lower = raw.toLowerCase();
  const idx = byName.get(lower);
  if (idx !== undefined) return { type: "stage", index: idx };
  if (looksLikeImageRef(raw)) {
    try {
      parseReference(raw);
    } catch (e) {
      fail(`COPY --from=${raw}: invalid image reference: ${(e as Error).message}`);
    }
    return { type: "image", ref: raw };
  }
  const names = [...byName.keys()];
  return fail(
    `COPY --from=${raw}: build stage "${raw}" not found${names.length ? ` (earlier stages: ${names.join(", ")})` : ""}; to copy from an image, give its reference with a tag, e.g. ${raw}:latest`,
  );
}

/* ------------------------------------------------------------------------------------------ */

export interface BaseConfig {
  /** `KEY=VALUE` entries of the base image config (empty for scratch). */
  env?: string[];
  workingDir?: string;
  user?: string;
  /** SHELL of the base (Docker images do not carry it; default /bin/sh -c). */
  shell?: string[];
}

interface StepCommon {
  line: number;
  endLine: number;
  /** The instruction as written. */
  original: string;
  /**
   * The instruction after substitution, normalized (single spaces, resolved paths, JSON for
   * argv): the human-readable part of the cache key and the image history's `created_by`.
   */
  text: string;
  /** ARG and ENV values visible to the step, sorted by name (proxy args excluded). */
  vars: [string, string][];
}

export type Step = StepCommon &
  (
    | { keyword: "ARG"; args: { name: string; value: string | undefined }[] }
    | { keyword: "ENV" | "LABEL"; pairs: { key: string; value: string }[] }
    | { keyword: "WORKDIR"; path: string }
    | { keyword: "USER"; user: string }
    | { keyword: "STOPSIGNAL"; signal: string }
    | { keyword: "MAINTAINER"; author: string }
    | {
        keyword: "COPY" | "ADD";
        from: CopySource;
        /** Source paths/globs: relative to the context, or absolute in a stage/image. */
        sources: string[];
        /** Absolute destination (WORKDIR applied), trailing slash kept. */
        dest: string;
        /** Destination names a directory (ends with `/` or `/.`). */
        destIsDir: boolean;
        chown: string | undefined;
        /** Octal mode from --chmod. */
        chmod: number | undefined;
        link: boolean;
      }
    | {
        keyword: "RUN";
        /** Full argv (shell forms wrapped in the current SHELL). */
        argv: string[];
        shellForm: boolean;
        /** Environment of the RUN container: ENV, then declared ARGs not shadowed by ENV. */
        env: string[];
        network: "default" | "none" | "host";
      }
    | { keyword: "CMD" | "ENTRYPOINT"; argv: string[]; shellForm: boolean }
    | { keyword: "EXPOSE"; ports: string[] }
    | { keyword: "VOLUME"; paths: string[] }
    | { keyword: "SHELL"; argv: string[] }
    | {
        keyword: "HEALTHCHECK";
        /** `["NONE"]`, `["CMD", ...argv]` or `["CMD-SHELL", script]` (OCI/Docker config). */
        test: string[];
        intervalNs: number | undefined;
        timeoutNs: number | undefined;
        startPeriodNs: number | undefined;
        startIntervalNs: number | undefined;
        retries: number | undefined;
      }
  );

export interface EvaluatedStage {
  index: number;
  steps: Step[];
  /** Config state after the last step (for a stage used as another's base). */
  final: { env: string[]; workingDir: string; user: string; shell: string[] };
}

const SIGNALS = new Set(
  "HUP INT QUIT ILL TRAP ABRT IOT BUS FPE KILL USR1 SEGV USR2 PIPE ALRM TERM STKFLT CHLD CLD CONT STOP TSTP TTIN TTOU URG XCPU XFSZ VTALRM PROF WINCH IO POLL PWR SYS UNUSED".split(
    " ",
  ),
);

export function isValidSignal(s: string): boolean {
  if (/^[0-9]+$/.test(s)) return Number(s) >= 1 && Number(s) <= 64;
  const n = s.toUpperCase().replace(/^SIG/, "");
  if (SIGNALS.has(n)) return true;
  const rt = /^RTM(IN|AX)(?:([+-])([0-9]+))?$/.exec(n);
  return rt !== null && (rt[3] === undefined || Number(rt[3]) <= 30);
}

/** Expands EXPOSE words into `port/proto` entries (ranges expanded). */
export function parseExposedPorts(words: string[], fail: (m: string) => never): string[] {
  const out: string[] = [];
  for (const w of words) {
    const m = /^([0-9]+)(?:-([0-9]+))?(?:\/([A-Za-z]+))?$/.exec(w);
    if (!m) {
      if (w.includes(":"))
        fail(`EXPOSE takes container ports only, not IP addresses or host ports: ${w}`);
      fail(`invalid containerPort: ${w}`);
    }
    const proto = (m![3] ?? "tcp").toLowerCase();
    if (!["tcp", "udp", "sctp"].includes(proto)) fail(`invalid proto: ${m![3]}`);
    const start = Number(m![1]);
    const end = m![2] === undefined ? start : Number(m![2]);
    if (start < 1 || start > 65535 || end < 1 || end > 65535) fail(`invalid containerPort: ${w}`);
    if (end < start) fail(`invalid range specified for port: ${w}`);
    for (let p = start; p <= end; p++) {
      const e = `${p}/${proto}`;
      if (!out.includes(e)) out.push(e);
    }
  }
  return out;
}

function envToMap(env: string[] | undefined): Map<string, string> {
  const m = new Map<string, string>();
  for (const e of env ?? []) {
    const eq = e.indexOf("=");
    if (eq > 0) m.set(e.slice(0, eq), e.slice(eq + 1));
  }
  return m;
}

function cleanAbs(p: string): string {
  const n = posix.normalize(`/${p}`);
  return n.length > 1 && n.endsWith("/") ? n.slice(0, -1) : n;
}

/**
 * Expands the instructions of stage `index` given its base config. Throws DockerfileError on
 * substitution errors, bad ports, signals or sources.
 */
export function evaluateStage(
  plan: BuildPlan,
  index: number,
  base: BaseConfig = {},
): EvaluatedStage {
  const stage = plan.stages[index];
  if (!stage) throw new DockerfileError(plan.file, undefined, `no build stage with index ${index}`);
  const env = envToMap(base.env);
  const args = new Map<string, string | undefined>();
  let workdir = base.workingDir && base.workingDir !== "" ? cleanAbs(base.workingDir) : "/";
  let user = base.user ?? "";
  let shell = base.shell && base.shell.length > 0 ? [...base.shell] : ["/bin/sh", "-c"];
  const lookup: VarLookup = (n) => (env.has(n) ? env.get(n) : args.get(n));
  const vars = (): [string, string][] => {
    const m = new Map<string, string>();
    for (const [k, v] of args) if (v !== undefined) m.set(k, v);
    for (const [k, v] of env) m.set(k, v);
    return [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  };
  const steps: Step[] = [];
  const shellArgv = (c: CommandForm): { argv: string[]; shellForm: boolean } =>
    c.form === "exec"
      ? { argv: [...c.argv], shellForm: false }
      : { argv: [...shell, c.script], shellForm: true };

  for (const ins of stage.parsed.instructions as Exclude<Instruction, { keyword: "FROM" }>[]) {
    const x = expander(plan.file, ins.line, plan.escape);
    const fail = (msg: string): never => {
      throw new DockerfileError(plan.file, ins.line, msg);
    };
    const common = { line: ins.line, endLine: ins.endLine, original: ins.original };
    switch (ins.keyword) {
      case "ARG": {
        const resolved = (ins as ArgInstruction).args.map((a) => {
          const value = argValue(a, plan, (d) => x.word(d, lookup));
          args.set(a.name, value);
          return { name: a.name, value };
        });
        steps.push({
          ...common,
          keyword: "ARG",
          args: resolved,
          text: `ARG ${resolved.map((a) => (a.value === undefined ? a.name : `${a.name}=${a.value}`)).join(" ")}`,
          vars: vars(),
        });
        break;
      }
      case "ENV":
      case "LABEL": {
        const pairs = ins.pairs.map((p) => ({
          key: x.word(p.key, lookup),
          value: x.word(p.value, lookup),
        }));
        for (const p of pairs) {
          if (p.key === "") fail(`${ins.keyword} names can not be blank`);
          if (ins.keyword === "ENV") env.set(p.key, p.value);
        }
        steps.push({
          ...common,
          keyword: ins.keyword,
          pairs,
          text: `${ins.keyword} ${pairs.map((p) => `${p.key}=${JSON.stringify(p.value)}`).join(" ")}`,
          vars: vars(),
        });
        break;
      }
      case "WORKDIR": {
        const v = x.word(ins.value, lookup);
        if (v === "") fail("WORKDIR path can not be empty");
        workdir = cleanAbs(v.startsWith("/") ? v : posix.join(workdir, v));
        steps.push({
          ...common,
          keyword: "WORKDIR",
          path: workdir,
          text: `WORKDIR ${workdir}`,
          vars: vars(),
        });
        break;
      }
      case "USER": {
        user = x.word(ins.value, lookup);
        if (user === "") fail("USER requires a user name or uid");
        steps.push({ ...common, keyword: "USER", user, text: `USER ${user}`, vars: vars() });
        break;
      }
      case "STOPSIGNAL": {
        const signal = x.word(ins.value, lookup);
        if (!isValidSignal(signal)) fail(`invalid signal: ${signal}`);
        steps.push({
          ...common,
          keyword: "STOPSIGNAL",
          signal,
          text: `STOPSIGNAL ${signal}`,
          vars: vars(),
        });
        break;
      }
      case "MAINTAINER": {
        steps.push({
          ...common,
          keyword: "MAINTAINER",
          author: ins.value,
          text: `MAINTAINER ${ins.value}`,
          vars: vars(),
        });
        break;
      }
      case "COPY":
      case "ADD": {
        let from: CopySource = { type: "context" };
        if (ins.from !== undefined) {
          const byName = new Map<string, number>();
          for (const s of plan.stages.slice(0, index)) if (s.name) byName.set(s.name, s.index);
          from = resolveCopyFrom(ins, index, byName, plan.file, plan.escape, (n) => args.get(n));
        }
        const sources = ins.sources.map((s) => x.word(s, lookup));
        let dest = x.word(ins.dest, lookup);
        if (dest === "") fail(`${ins.keyword} destination can not be empty`);
        const destIsDir = dest.endsWith("/") || dest === "." || dest.endsWith("/.");
        dest = dest.startsWith("/") ? dest : posix.join(workdir, dest);
        dest = cleanAbs(dest) + (destIsDir && cleanAbs(dest) !== "/" ? "/" : "");
        if (sources.length > 1 && !destIsDir)
          fail(
            `When using ${ins.keyword} with more than one source file, the destination must be a directory and end with a /`,
          );
        for (const s of sources) {
          if (s === "") fail(`${ins.keyword} source can not be empty`);
          if (ins.keyword === "ADD" && /^(https?:\/\/|git@|git:\/\/)/.test(s))
            fail(`ADD from a URL or git repository is not supported: ${s}`);
          if (from.type === "context") {
            if (s.startsWith("/"))
              fail(
                `${ins.keyword} source must be a path relative to the build context, not absolute: ${s}`,
              );
            const norm = posix.normalize(s);
            if (norm === ".." || norm.startsWith("../"))
              fail(`forbidden path outside the build context: ${s}`);
          }
        }
        const chown = ins.chown === undefined ? undefined : x.word(ins.chown, lookup);
        let chmod: number | undefined;
        if (ins.chmod !== undefined) {
          const c = x.word(ins.chmod, lookup);
          if (!/^[0-7]{3,4}$/.test(c))
            fail(`invalid --chmod=${c}: only octal modes like 755 or 0644 are supported`);
          chmod = parseInt(c, 8);
        }
        const fromText =
          from.type === "context"
            ? ""
            : from.type === "stage"
              ? `--from=${from.index} `
              : `--from=${from.ref} `;
        const flagText = `${chown !== undefined ? `--chown=${chown} ` : ""}${chmod !== undefined ? `--chmod=${chmod.toString(8).padStart(4, "0")} ` : ""}`;
        steps.push({
          ...common,
          keyword: ins.keyword,
          from,
          sources,
          dest,
          destIsDir,
          chown,
          chmod,
          link: ins.link,
          text: `${ins.keyword} ${fromText}${flagText}${JSON.stringify(sources)} ${dest}`,
          vars: vars(),
        });
        break;
      }
      case "RUN": {
        const { argv, shellForm } = shellArgv(ins.command);
        const runEnv = new Map<string, string>();
        for (const p of PROXY_ARGS)
          if (Object.hasOwn(plan.buildArgs, p)) runEnv.set(p, plan.buildArgs[p]!);
        for (const [k, v] of args) if (v !== undefined) runEnv.set(k, v);
        for (const [k, v] of env) runEnv.set(k, v);
        steps.push({
          ...common,
          keyword: "RUN",
          argv,
          shellForm,
          env: [...runEnv].map(([k, v]) => `${k}=${v}`),
          network: ins.network,
          text: `RUN ${ins.network !== "default" ? `--network=${ins.network} ` : ""}${JSON.stringify(argv)}`,
          vars: vars(),
        });
        break;
      }
      case "CMD":
      case "ENTRYPOINT": {
        const { argv, shellForm } = shellArgv(ins.command);
        steps.push({
          ...common,
          keyword: ins.keyword,
          argv,
          shellForm,
          text: `${ins.keyword} ${JSON.stringify(argv)}`,
          vars: vars(),
        });
        break;
      }
      case "EXPOSE": {
        const words = ins.items.flatMap((w) => x.words(w, lookup));
        const ports = parseExposedPorts(words, fail);
        steps.push({
          ...common,
          keyword: "EXPOSE",
          ports,
          text: `EXPOSE ${ports.join(" ")}`,
          vars: vars(),
        });
        break;
      }
      case "VOLUME": {
        const paths = ins.items.map((w) => x.word(w, lookup));
        if (paths.some((p) => p.trim() === "")) fail("VOLUME specified can not be an empty string");
        steps.push({
          ...common,
          keyword: "VOLUME",
          paths,
          text: `VOLUME ${JSON.stringify(paths)}`,
          vars: vars(),
        });
        break;
      }
      case "SHELL": {
        shell = [...ins.argv];
        steps.push({
          ...common,
          keyword: "SHELL",
          argv: shell,
          text: `SHELL ${JSON.stringify(shell)}`,
          vars: vars(),
        });
        break;
      }
      case "HEALTHCHECK": {
        const test =
          ins.command === undefined
            ? ["NONE"]
            : ins.command.form === "exec"
              ? ["CMD", ...ins.command.argv]
              : ["CMD-SHELL", ins.command.script];
        const opt = (n: string, v: number | undefined) => (v === undefined ? "" : `--${n}=${v} `);
        steps.push({
          ...common,
          keyword: "HEALTHCHECK",
          test,
          intervalNs: ins.intervalNs,
          timeoutNs: ins.timeoutNs,
          startPeriodNs: ins.startPeriodNs,
          startIntervalNs: ins.startIntervalNs,
          retries: ins.retries,
          text: `HEALTHCHECK ${opt("interval", ins.intervalNs)}${opt("timeout", ins.timeoutNs)}${opt("start-period", ins.startPeriodNs)}${opt("start-interval", ins.startIntervalNs)}${opt("retries", ins.retries)}${JSON.stringify(test)}`,
          vars: vars(),
        });
        break;
      }
    }
  }
  return {
    index,
    steps,
    final: { env: [...env].map(([k, v]) => `${k}=${v}`), workingDir: workdir, user, shell },
  };
}
