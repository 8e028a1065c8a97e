/**
 * `.dockerignore` as Docker reads it (moby/patternmatcher and its ignorefile reader), pure
 * string logic so it can also serve a client packing a context.
 *
 * - Lines starting with `#` are comments; blank lines are skipped; whitespace is trimmed.
 * - `!pattern` re-includes; the last matching line wins.
 * - Patterns are cleaned like Go's filepath.Clean and a leading `/` is stripped: every pattern
 *   is anchored at the context root (`*.md` matches only top-level files; use `**\/*.md`).
 * - `*` and `?` never match `/`; `**` matches any number of directories (zero included);
 *   `[a-z]`, `[^a-z]` and `\x` escapes as in filepath.Match.
 * - A path is excluded when a pattern matches it or one of its parent directories.
 *
 * (@balena/dockerignore was considered: it follows an older Moby, lower-cases by default and
 * passes regexp metacharacters such as `+` `(` `|` through unescaped.)
 */

export class DockerignoreError extends Error {}

interface Pattern {
  exclusion: boolean;
  cleaned: string;
  re: RegExp;
}

/** Go's path.Clean for slash-separated paths. */
export function goClean(p: string): string {
  if (p === "") return ".";
  const rooted = p.startsWith("/");
  const out: string[] = [];
  for (const part of p.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (out.length > 0 && out[out.length - 1] !== "..") out.pop();
      else if (!rooted) out.push("..");
      continue;
    }
    out.push(part);
  }
  const s = (rooted ? "/" : "") + out.join("/");
  return s === "" ? "." : s;
}

function escapeRe(ch: string): string {
  return /[.+()|{}$^*?[\]\\]/.test(ch) ? `\\${ch}` : ch;
}

/** Compiles one cleaned pattern into a regexp, as patternmatcher's Pattern.compile. */
function compile(pattern: string): RegExp {
  let re = "^";
  const chars = Array.from(pattern);
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i]!;
    if (ch === "*") {
      if (chars[i + 1] === "*") {
        i++;
        if (chars[i + 1] === "/") i++;
        if (i + 1 >= chars.length) re += ".*";
        else re += "(.*/)?";
      } else {
        re += "[^/]*";
      }
    } else if (ch === "?") {
      re += "[^/]";
    } else if (ch === "\\") {
      if (i + 1 < chars.length) re += escapeRe(chars[++i]!);
      else
        throw new DockerignoreError(
          `syntax error in pattern ${JSON.stringify(pattern)}: trailing backslash`,
        );
    } else if (ch === "[") {
      // character class, copied with Go's syntax checks
      let j = i + 1;
      let cls = "[";
      if (chars[j] === "^") {
        cls += "^";
        j++;
      }
      let closed = false;
      let first = true;
      for (; j < chars.length; j++) {
        const c = chars[j]!;
        if (c === "]" && !first) {
          closed = true;
          break;
        }
        first = false;
        if (c === "\\") {
          j++;
          if (j >= chars.length) break;
          cls += escapeRe(chars[j]!);
        } else if (c === "/") {
          throw new DockerignoreError(`syntax error in pattern ${JSON.stringify(pattern)}`);
        } else if (c === "-" || /[A-Za-z0-9]/.test(c)) {
          cls += c;
        } else {
          cls += escapeRe(c);
        }
      }
      if (!closed || cls === "[" || cls === "[^")
        throw new DockerignoreError(`syntax error in pattern ${JSON.stringify(pattern)}`);
      re += `${cls}]`;
      i = j;
    } else {
      re += escapeRe(ch);
    }
  }
  re += "$";
  try {
    return new RegExp(re, "u");
  } catch {
    throw new DockerignoreError(`syntax error in pattern ${JSON.stringify(pattern)}`);
  }
}

/** Reads `.dockerignore` text into normalized patterns (the ignorefile.ReadAll rules). */
export function readDockerignore(text: string): string[] {
  const out: string[] = [];
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  for (const raw of lines) {
    if (raw.startsWith("#")) continue;
    let p = raw.trim();
    if (p === "") continue;
    const invert = p.startsWith("!");
    if (invert) p = p.slice(1).trim();
    if (p.length > 0) {
      p = goClean(p);
      if (p.length > 1 && p.startsWith("/")) p = p.slice(1);
    }
    out.push(invert ? `!${p}` : p);
  }
  return out;
}

export class DockerignoreMatcher {
  private readonly patterns: Pattern[] = [];
  readonly hasExclusions: boolean;

  constructor(patterns: string[]) {
    for (let p of patterns) {
      p = p.trim();
      if (p === "") continue;
      p = goClean(p);
      let exclusion = false;
      if (p.startsWith("!")) {
        if (p.length === 1) throw new DockerignoreError('illegal exclusion pattern: "!"');
        exclusion = true;
        p = p.slice(1);
      }
      this.patterns.push({ exclusion, cleaned: p, re: compile(p) });
    }
    this.hasExclusions = this.patterns.some((p) => p.exclusion);
  }

  static fromText(text: string): DockerignoreMatcher {
    return new DockerignoreMatcher(readDockerignore(text));
  }

  /** True when the slash-separated relative `path` is excluded from the context. */
  excludes(path: string): boolean {
    const file = goClean(path);
    const parent = file.includes("/") ? file.slice(0, file.lastIndexOf("/")) : ".";
    const parentDirs = parent.split("/");
    let matched = false;
    for (const p of this.patterns) {
      if (p.exclusion !== matched) continue;
      let match = p.re.test(file);
      if (!match && parent !== ".") {
        for (let i = 0; i < parentDirs.length && !match; i++)
          match = p.re.test(parentDirs.slice(0, i + 1).join("/"));
      }
      if (match) matched = !p.exclusion;
    }
    return matched;
  }

  /**
   * Whether walking into excluded directory `dir` may still find included files: some
   * exclusion (`!`) pattern could match below it. Lets a walker skip whole directories.
   */
  mayIncludeBelow(dir: string): boolean {
    if (!this.hasExclusions) return false;
    const d = goClean(dir);
    const dirParts = d.split("/");
    return this.patterns.some((p) => {
      if (!p.exclusion) return false;
      if (p.cleaned.includes("**")) return true;
      const pp = p.cleaned.split("/");
      if (pp.length <= dirParts.length) return false;
      // every leading component of the pattern must be able to match the directory's
      return dirParts.every((part, i) => compile(pp[i]!).test(part));
    });
  }

  get size(): number {
    return this.patterns.length;
  }
}
