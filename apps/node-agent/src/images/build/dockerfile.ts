/**
 * Dockerfile parser: Docker's syntax (BuildKit's frontend/dockerfile/parser and instructions),
 * hand-written because the npm parsers are editor tooling (dockerfile-ast) or unmaintained and
 * none implements Docker's build-time semantics (ARG scoping, substitution rules, the JSON
 * fall-back of exec forms).
 *
 * This stage is purely syntactic: words are kept as written (quotes and `$VAR` included) and
 * are expanded later by stages.ts, once the base image's environment is known. Every error is
 * a DockerfileError naming the file and line: `Dockerfile:7: unknown instruction: RUNN`.
 *
 * Choices (see docs/ARCHITECTURE.md "Dockerfile front end"):
 * - heredocs (`RUN <<EOF`), ONBUILD, `RUN --mount`, `RUN --security` are refused clearly;
 * - MAINTAINER is accepted and becomes the image's `author` (as Docker sets it);
 * - `COPY --link` is accepted and has no effect (the resulting filesystem is the same);
 * - EXPOSE ranges (`8000-8002/tcp`) are expanded into single ports, as Docker does.
 */
import { DomainError } from "@berth/core";
import { splitWordsKeepQuotes } from "./shell-lex";

export class DockerfileError extends DomainError {
  readonly line: number | undefined;
  constructor(file: string, line: number | undefined, message: string) {
    super(
      "invalid_input",
      line === undefined ? `${file}: ${message}` : `${file}:${line}: ${message}`,
      {
        file,
        ...(line === undefined ? {} : { line }),
      },
    );
    this.name = "DockerfileError";
    this.line = line;
  }
}

/** The command of RUN, CMD, ENTRYPOINT, HEALTHCHECK: exec form (JSON array) or shell form. */
export type CommandForm = { form: "exec"; argv: string[] } | { form: "shell"; script: string };

interface Base {
  /** 1-based line of the instruction's first line. */
  line: number;
  /** Last line (continuations included). */
  endLine: number;
  /** The instruction as written, continuation lines joined (for history and errors). */
  original: string;
}

export interface FromInstruction extends Base {
  keyword: "FROM";
  /** Unexpanded: may hold `$ARG` of global (pre-FROM) args. */
  image: string;
  /** Lower-cased stage name from `AS name`. */
  stageName: string | undefined;
  platform: string | undefined;
}
export interface ArgInstruction extends Base {
  keyword: "ARG";
  /** `default` is unexpanded (quotes kept); undefined when the ARG has no `=`. */
  args: { name: string; default: string | undefined }[];
}
export interface KeyValueInstruction extends Base {
  keyword: "ENV" | "LABEL";
  /** Unexpanded keys and values. */
  pairs: { key: string; value: string }[];
}
export interface StringInstruction extends Base {
  keyword: "WORKDIR" | "USER" | "STOPSIGNAL" | "MAINTAINER";
  /** Unexpanded (MAINTAINER is never expanded). */
  value: string;
}
export interface CopyInstruction extends Base {
  keyword: "COPY" | "ADD";
  /** Unexpanded words. */
  sources: string[];
  dest: string;
  /** `--from` as written (COPY only). */
  from: string | undefined;
  chown: string | undefined;
  chmod: string | undefined;
  link: boolean;
}
export interface RunInstruction extends Base {
  keyword: "RUN";
  command: CommandForm;
  network: "default" | "none" | "host";
}
export interface CommandInstruction extends Base {
  keyword: "CMD" | "ENTRYPOINT";
  command: CommandForm;
}
export interface ListInstruction extends Base {
  keyword: "EXPOSE" | "VOLUME";
  /** Unexpanded words. */
  items: string[];
}
export interface ShellInstruction extends Base {
  keyword: "SHELL";
  argv: string[];
}
export interface HealthcheckInstruction extends Base {
  keyword: "HEALTHCHECK";
  /** undefined for `HEALTHCHECK NONE`. */
  command: CommandForm | undefined;
  /** Durations in nanoseconds (as in an OCI image config); undefined = inherit the default. */
  intervalNs: number | undefined;
  timeoutNs: number | undefined;
  startPeriodNs: number | undefined;
  startIntervalNs: number | undefined;
  retries: number | undefined;
}

export type Instruction =
  | FromInstruction
  | ArgInstruction
  | KeyValueInstruction
  | StringInstruction
  | CopyInstruction
  | RunInstruction
  | CommandInstruction
  | ListInstruction
  | ShellInstruction
  | HealthcheckInstruction;

export interface ParsedStage {
  index: number;
  from: FromInstruction;
  /** The stage's instructions after FROM. */
  instructions: Exclude<Instruction, FromInstruction>[];
}

export interface ParsedDockerfile {
  file: string;
  escape: "\\" | "`";
  /** Value of `# syntax=` (accepted and ignored). */
  syntax: string | undefined;
  /** ARG instructions before the first FROM. */
  globalArgs: ArgInstruction[];
  stages: ParsedStage[];
  /** Non-fatal findings, e.g. empty continuation lines. */
  warnings: string[];
}

const KEYWORDS = [
  "ADD",
  "ARG",
  "CMD",
  "COPY",
  "ENTRYPOINT",
  "ENV",
  "EXPOSE",
  "FROM",
  "HEALTHCHECK",
  "LABEL",
  "MAINTAINER",
  "ONBUILD",
  "RUN",
  "SHELL",
  "STOPSIGNAL",
  "USER",
  "VOLUME",
  "WORKDIR",
] as const;

const DIRECTIVE_RE = /^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$/;
const KNOWN_DIRECTIVES = new Set(["syntax", "escape", "check"]);
const HEREDOC_RE = /<<-?\s*(["']?)[A-Za-z_][A-Za-z0-9_]*\1/;
const STAGE_NAME_RE = /^[a-z][a-z0-9-_.]*$/;

function levenshtein(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++)
      d[i]![j] = Math.min(
        d[i - 1]![j]! + 1,
        d[i]![j - 1]! + 1,
        d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
  return d[a.length]![b.length]!;
}

/** Go's time.ParseDuration, returning nanoseconds. */
export function parseGoDuration(s: string): number | undefined {
  if (s === "0") return 0;
  const units: Record<string, number> = {
    ns: 1,
    us: 1e3,
    µs: 1e3,
    μs: 1e3,
    ms: 1e6,
    s: 1e9,
    m: 60e9,
    h: 3600e9,
  };
  let rest = s;
  let sign = 1;
  if (rest.startsWith("-") || rest.startsWith("+")) {
    if (rest[0] === "-") sign = -1;
    rest = rest.slice(1);
  }
  if (rest === "") return undefined;
  let total = 0;
  const re = /^([0-9]*(?:\.[0-9]*)?)(ns|us|µs|μs|ms|s|m|h)/;
  while (rest !== "") {
    const m = re.exec(rest);
    if (!m || m[1] === "" || m[1] === ".") return undefined;
    total += Number(m[1]) * units[m[2]!]!;
    rest = rest.slice(m[0].length);
  }
  return sign * Math.round(total);
}

interface Flags {
  values: Map<string, string | boolean>;
}

/** Flag specs per instruction: "string" needs a value, "bool" may have one (true/false). */
const FLAG_SPECS: Partial<Record<string, Record<string, "string" | "bool">>> = {
  FROM: { platform: "string" },
  COPY: { from: "string", chown: "string", chmod: "string", link: "bool" },
  ADD: { chown: "string", chmod: "string", link: "bool" },
  RUN: { network: "string" },
  HEALTHCHECK: {
    interval: "string",
    timeout: "string",
    "start-period": "string",
    "start-interval": "string",
    retries: "string",
  },
};

const REFUSED_FLAGS: Record<string, Record<string, string>> = {
  RUN: {
    mount: "RUN --mount is not supported",
    security: "RUN --security is not supported",
  },
  ADD: {
    checksum: "ADD --checksum is not supported (ADD from URLs is not supported)",
    "keep-git-dir": "ADD --keep-git-dir is not supported (ADD from git is not supported)",
  },
  COPY: {
    parents: "COPY --parents is not supported",
    exclude: "COPY --exclude is not supported",
  },
};

export interface ParseOptions {
  /** Name used in error messages, e.g. the `-f` path. Default "Dockerfile". */
  file?: string;
}

/**
 * Parses Dockerfile text. Throws DockerfileError on any syntax error. Does not expand
 * variables (see stages.ts).
 */
export function parseDockerfile(text: string, opts: ParseOptions = {}): ParsedDockerfile {
  const file = opts.file ?? "Dockerfile";
  const fail = (line: number | undefined, msg: string): never => {
    throw new DockerfileError(file, line, msg);
  };
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  let escape: "\\" | "`" = "\\";
  let syntax: string | undefined;
  const warnings: string[] = [];

  // Parser directives: only at the very top, before any comment, blank line or instruction.
  const seen = new Set<string>();
  let i = 0;
  for (; i < lines.length; i++) {
    const m = DIRECTIVE_RE.exec(lines[i]!);
    if (!m) break;
    const key = m[1]!.toLowerCase();
    if (!KNOWN_DIRECTIVES.has(key)) break; // an unknown directive is a comment and ends them
    if (seen.has(key)) fail(i + 1, `only one ${key} parser directive can be used`);
    seen.add(key);
    const value = m[2]!;
    if (key === "escape") {
      if (value !== "\\" && value !== "`")
        fail(i + 1, `invalid escape token '${value}' does not match \` or \\`);
      escape = value as "\\" | "`";
    } else if (key === "syntax") {
      syntax = value;
    }
  }

  const escRe = escape === "\\" ? "\\\\" : "`";
  const contRe = new RegExp(`${escRe}[ \\t]*$`);
  const isComment = (l: string) => /^\s*#/.test(l);

  // Logical instructions with their line span.
  const logical: { line: number; endLine: number; text: string }[] = [];
  for (let n = 0; n < lines.length; n++) {
    const raw = lines[n]!;
    if (isComment(raw)) continue;
    let line = raw.replace(/^\s+/, "");
    if (line.trim() === "") continue;
    const start = n + 1;
    let continued = contRe.test(line);
    if (continued) line = line.replace(contRe, "");
    let emptyContinuation = false;
    while (continued && n + 1 < lines.length) {
      n++;
      const next = lines[n]!;
      if (isComment(next)) continue;
      if (next.trim() === "") {
        emptyContinuation = true;
        continue;
      }
      continued = contRe.test(next);
      line += continued ? next.replace(contRe, "") : next;
    }
    if (emptyContinuation)
      warnings.push(
        `${file}:${start}: empty continuation line (it will be an error in a future release)`,
      );
    if (line.trim() === "") continue;
    logical.push({ line: start, endLine: n + 1, text: line.trim() });
  }

  const globalArgs: ArgInstruction[] = [];
  const stages: ParsedStage[] = [];
  const stageNames = new Map<string, number>();

  for (const l of logical) {
    const m = /^(\S+)(?:\s+([\s\S]*))?$/.exec(l.text)!;
    const word = m[1]!;
    const keyword = word.toUpperCase();
    let rest = m[2] ?? "";
    const base: Base = { line: l.line, endLine: l.endLine, original: l.text };

    if (!(KEYWORDS as readonly string[]).includes(keyword)) {
      const near = KEYWORDS.find((k) => levenshtein(k, keyword) <= 2 && keyword.length > 1);
      fail(l.line, `unknown instruction: ${word}${near ? ` (did you mean ${near}?)` : ""}`);
    }
    if (keyword === "ONBUILD") fail(l.line, "ONBUILD is not supported");

    // Builder flags: leading `--name[=value]` words.
    const flags: Flags = { values: new Map() };
    for (;;) {
      const fm = /^--(\S*)(?:\s+|$)/.exec(rest);
      if (!fm) break;
      rest = rest.slice(fm[0].length);
      const body = fm[1]!;
      if (body === "") break; // `--` ends the flags
      const eq = body.indexOf("=");
      const name = eq < 0 ? body : body.slice(0, eq);
      const value = eq < 0 ? true : body.slice(eq + 1);
      const refused = REFUSED_FLAGS[keyword]?.[name];
      if (refused) fail(l.line, refused);
      const spec = FLAG_SPECS[keyword]?.[name];
      if (!spec) fail(l.line, `unknown flag: ${name}`);
      if (flags.values.has(name)) fail(l.line, `duplicate flag specified: ${name}`);
      if (spec === "string" && (value === true || value === ""))
        fail(l.line, `missing a value on flag: ${name}`);
      if (spec === "bool" && value !== true && value !== "true" && value !== "false")
        fail(l.line, `expecting boolean value for flag ${name}, not: ${value}`);
      flags.values.set(name, spec === "bool" ? value === true || value === "true" : value);
    }
    const str = (name: string): string | undefined => {
      const v = flags.values.get(name);
      return typeof v === "string" ? v : undefined;
    };
    rest = rest.trim();

    const needArgs = () => {
      if (rest === "") fail(l.line, `${keyword} requires at least one argument`);
    };
    if (
      (keyword === "RUN" || keyword === "COPY" || keyword === "ADD") &&
      !rest.startsWith("[") &&
      // quoted text is not a heredoc: `echo "a<<b"`
      HEREDOC_RE.test(rest.replace(/(?<!<<-?\s*)(?:'[^']*'|"(?:[^"\\]|\\.)*")/g, "''"))
    ) {
      fail(l.line, `heredocs are not supported (${keyword} ${rest.slice(0, 40)})`);
    }

    let ins: Instruction;
    switch (keyword) {
      case "FROM": {
        const args = splitWhitespace(rest);
        if (!(args.length === 1 || (args.length === 3 && args[1]!.toLowerCase() === "as")))
          fail(l.line, "FROM requires either one or three arguments");
        let stageName: string | undefined;
        if (args.length === 3) {
          stageName = args[2]!.toLowerCase();
          if (!STAGE_NAME_RE.test(stageName))
            fail(
              l.line,
              `invalid name for build stage: "${args[2]}", name can't start with a number or contain symbols`,
            );
          if (stageNames.has(stageName)) fail(l.line, `duplicate stage name "${stageName}"`);
          stageNames.set(stageName, stages.length);
        }
        ins = { ...base, keyword, image: args[0]!, stageName, platform: str("platform") };
        break;
      }
      case "ARG": {
        needArgs();
        const words = splitWordsKeepQuotes(rest, escape);
        const args = words.map((w) => {
          const eq = w.indexOf("=");
          const name = eq < 0 ? w : w.slice(0, eq);
          if (name === "") fail(l.line, `ARG names can not be blank`);
          if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
            fail(l.line, `invalid ARG name: ${JSON.stringify(name)}`);
          return { name, default: eq < 0 ? undefined : w.slice(eq + 1) };
        });
        ins = { ...base, keyword, args };
        break;
      }
      case "ENV":
      case "LABEL": {
        needArgs();
        ins = {
          ...base,
          keyword,
          pairs: parseNameVal(rest, keyword, escape, (msg) => fail(l.line, msg)),
        };
        break;
      }
      case "WORKDIR":
      case "USER":
      case "STOPSIGNAL":
      case "MAINTAINER": {
        needArgs();
        // Docker takes the rest of the line as one value: `WORKDIR /my dir` is "/my dir".
        ins = { ...base, keyword, value: rest };
        break;
      }
      case "COPY":
      case "ADD": {
        const words = parseMaybeJsonToList(rest, (msg) => fail(l.line, msg));
        if (words.length < 2)
          fail(l.line, `${keyword} requires at least two arguments, but got ${words.length}`);
        const chmod = str("chmod");
        if (chmod !== undefined && !chmod.includes("$") && !/^[0-7]{3,4}$/.test(chmod))
          fail(l.line, `invalid --chmod=${chmod}: only octal modes like 755 or 0644 are supported`);
        ins = {
          ...base,
          keyword,
          sources: words.slice(0, -1),
          dest: words[words.length - 1]!,
          from: str("from"),
          chown: str("chown"),
          chmod,
          link: flags.values.get("link") === true,
        };
        break;
      }
      case "RUN": {
        needArgs();
        const net = str("network") ?? "default";
        if (net !== "default" && net !== "none" && net !== "host")
          fail(l.line, `network mode "${net}" not supported: use none, host or default`);
        ins = {
          ...base,
          keyword,
          command: parseMaybeJson(rest, (msg) => fail(l.line, msg)),
          network: net as RunInstruction["network"],
        };
        if (ins.command.form === "exec" && ins.command.argv.length === 0)
          fail(l.line, "RUN requires at least one argument");
        break;
      }
      case "CMD":
      case "ENTRYPOINT": {
        needArgs();
        ins = { ...base, keyword, command: parseMaybeJson(rest, (msg) => fail(l.line, msg)) };
        break;
      }
      case "EXPOSE":
      case "VOLUME": {
        needArgs();
        const items =
          keyword === "VOLUME"
            ? parseMaybeJsonToList(rest, (msg) => fail(l.line, msg))
            : splitWhitespace(rest);
        if (keyword === "VOLUME" && items.some((v) => v.trim() === ""))
          fail(l.line, "VOLUME specified can not be an empty string");
        ins = { ...base, keyword, items };
        break;
      }
      case "SHELL": {
        needArgs();
        const cmd = parseMaybeJson(rest, (msg) => fail(l.line, msg));
        if (cmd.form !== "exec") fail(l.line, "SHELL requires the arguments to be in JSON form");
        const argv = (cmd as { argv: string[] }).argv;
        if (argv.length === 0) fail(l.line, "SHELL requires at least one argument");
        ins = { ...base, keyword, argv };
        break;
      }
      case "HEALTHCHECK": {
        needArgs();
        const hm = /^(\S+)\s*([\s\S]*)$/.exec(rest)!;
        const type = hm[1]!.toUpperCase();
        const after = hm[2]!;
        const dur = (name: string, min: number): number | undefined => {
          const v = str(name);
          if (v === undefined) return undefined;
          const ns = parseGoDuration(v);
          if (ns === undefined)
            fail(l.line, `invalid duration for --${name}: ${JSON.stringify(v)}`);
          if (ns! < 0) fail(l.line, `--${name} cannot be negative`);
          if (ns! !== 0 && ns! < min) fail(l.line, `--${name} cannot be less than ${min / 1e6}ms`);
          return ns;
        };
        if (type === "NONE") {
          if (after.trim() !== "" || flags.values.size > 0)
            fail(l.line, "HEALTHCHECK NONE takes no arguments");
          ins = {
            ...base,
            keyword,
            command: undefined,
            intervalNs: undefined,
            timeoutNs: undefined,
            startPeriodNs: undefined,
            startIntervalNs: undefined,
            retries: undefined,
          };
          break;
        }
        if (type !== "CMD")
          fail(l.line, `unknown type ${JSON.stringify(hm[1])} in HEALTHCHECK (try CMD)`);
        if (after.trim() === "") fail(l.line, "missing command after HEALTHCHECK CMD");
        const command = parseMaybeJson(after, (msg) => fail(l.line, msg));
        let retries: number | undefined;
        const r = str("retries");
        if (r !== undefined) {
          if (!/^-?[0-9]+$/.test(r)) fail(l.line, `invalid --retries: ${JSON.stringify(r)}`);
          retries = Number(r);
          if (retries < 0) fail(l.line, "--retries cannot be negative");
        }
        ins = {
          ...base,
          keyword,
          command,
          intervalNs: dur("interval", 1e6),
          timeoutNs: dur("timeout", 1e6),
          startPeriodNs: dur("start-period", 0),
          startIntervalNs: dur("start-interval", 1e6),
          retries,
        };
        break;
      }
      default:
        throw new Error(`unreachable: ${keyword}`);
    }

    if (ins.keyword === "FROM") {
      stages.push({ index: stages.length, from: ins, instructions: [] });
    } else if (stages.length === 0) {
      if (ins.keyword !== "ARG")
        fail(
          l.line,
          `${keyword}: no build stage in current context (a Dockerfile must begin with FROM; only ARG may come before it)`,
        );
      globalArgs.push(ins as ArgInstruction);
    } else {
      stages[stages.length - 1]!.instructions.push(ins);
    }
  }

  if (logical.length === 0) fail(undefined, "the Dockerfile is empty: it has no instructions");
  if (stages.length === 0)
    fail(undefined, "no build stage: the Dockerfile has no FROM instruction");
  return { file, escape, syntax, globalArgs, stages, warnings };
}

function splitWhitespace(rest: string): string[] {
  const t = rest.trim();
  return t === "" ? [] : t.split(/[\t\v\f\r ]+/);
}

const NOT_STRING_ARRAY = "when using JSON array syntax, arrays must be comprised of strings only";

/**
 * Docker's exec-form rule: text starting with `[` that parses as a JSON array is the exec
 * form; an array with a non-string member is an error; anything that is not valid JSON (e.g.
 * single quotes) falls back to the shell form, verbatim.
 */
function tryJsonArray(rest: string, fail: (m: string) => never): string[] | undefined {
  const t = rest.trimStart();
  if (!t.startsWith("[")) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(t);
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed)) return undefined;
  if (!parsed.every((x) => typeof x === "string")) fail(NOT_STRING_ARRAY);
  return parsed as string[];
}

function parseMaybeJson(rest: string, fail: (m: string) => never): CommandForm {
  const argv = tryJsonArray(rest, fail);
  if (argv) return { form: "exec", argv };
  return { form: "shell", script: rest.trimStart() };
}

function parseMaybeJsonToList(rest: string, fail: (m: string) => never): string[] {
  return tryJsonArray(rest, fail) ?? splitWhitespace(rest);
}

/** ENV/LABEL: `k=v k2="v 2"` (words keep quotes) or legacy `k v with spaces`. */
function parseNameVal(
  rest: string,
  keyword: string,
  escape: string,
  fail: (m: string) => never,
): { key: string; value: string }[] {
  const words = splitWordsKeepQuotes(rest, escape);
  if (words.length === 0) fail(`${keyword} requires at least one argument`);
  if (!words[0]!.includes("=")) {
    const parts = rest.trim().split(/[\t\v\f\r ]+/);
    if (parts.length < 2) fail(`${keyword} must have two arguments`);
    const key = parts[0]!;
    const value = rest
      .trim()
      .slice(key.length)
      .replace(/^[\t\v\f\r ]+/, "");
    return [{ key, value }];
  }
  return words.map((w) => {
    const eq = w.indexOf("=");
    if (eq < 0)
      fail(`Syntax error - can't find = in ${JSON.stringify(w)}. Must be of the form: name=value`);
    const key = w.slice(0, eq);
    if (key === "") fail(`${keyword} names can not be blank`);
    return { key, value: w.slice(eq + 1) };
  });
}
