/**
 * Go's path.Match for one path component (what BuildKit applies to COPY/ADD source
 * wildcards, component by component): `*` any run of non-`/` characters, `?` one non-`/`
 * character, `[abc]`, `[a-z]`, `[^a-z]`, `\x` escapes. A malformed pattern is an error
 * (Go's ErrBadPattern). Dotfiles are not special.
 */

export class GlobError extends Error {}

export function hasGlobMeta(s: string): boolean {
  return /[*?[\\]/.test(s);
}

function esc(ch: string): string {
  return /[.+()|{}$^*?[\]\\/]/.test(ch) ? `\\${ch}` : ch;
}

function escClass(ch: string): string {
  return /[\]\\^[-]/.test(ch) ? `\\${ch}` : ch;
}

/** Compiles a path.Match pattern (may contain `/`, which must match literally). */
export function compileGlob(pattern: string): RegExp {
  const chars = Array.from(pattern);
  let re = "^";
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i]!;
    if (ch === "*") {
      while (chars[i + 1] === "*") i++;
      re += "[^/]*";
    } else if (ch === "?") re += "[^/]";
    else if (ch === "\\") {
      if (i + 1 >= chars.length) throw new GlobError(`syntax error in pattern: ${pattern}`);
      re += esc(chars[++i]!);
    } else if (ch === "[") {
      let j = i + 1;
      let cls = "[";
      if (chars[j] === "^") {
        cls += "^";
        j++;
      }
      let n = 0;
      let closed = false;
      for (; j < chars.length; j++) {
        let c = chars[j]!;
        if (c === "]" && n > 0) {
          closed = true;
          break;
        }
        if (c === "\\") {
          if (++j >= chars.length) break;
          c = chars[j]!;
        } else if (c === "-" || c === "]") {
          throw new GlobError(`syntax error in pattern: ${pattern}`);
        }
        let lo = c;
        if (chars[j + 1] === "-" && chars[j + 2] !== undefined && chars[j + 2] !== "]") {
          j += 2;
          let hi = chars[j]!;
          if (hi === "\\") {
            if (++j >= chars.length) break;
            hi = chars[j]!;
          }
          if (hi < lo) throw new GlobError(`syntax error in pattern: ${pattern}`);
          cls += `${escClass(lo)}-${escClass(hi)}`;
        } else {
          cls += escClass(lo);
        }
        lo = "";
        n++;
      }
      if (!closed) throw new GlobError(`syntax error in pattern: ${pattern}`);
      // A class never matches the separator.
      re += `(?!/)${cls}]`;
      i = j;
    } else re += esc(ch);
  }
  return new RegExp(`${re}$`, "u");
}

/** path.Match(pattern, name). Throws GlobError on a malformed pattern. */
export function globMatch(pattern: string, name: string): boolean {
  return compileGlob(pattern).test(name);
}
