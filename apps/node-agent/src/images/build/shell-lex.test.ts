import { describe, expect, it } from "vitest";
import { expandWord, expandWords, ShellLexError, splitWordsKeepQuotes } from "./shell-lex";

const env: Record<string, string> = { A: "a", EMPTY: "", SP: "x  y", PATH: "/usr/bin", N1: "one" };
const lookup = (n: string) => (Object.hasOwn(env, n) ? env[n] : undefined);
const w = (s: string, esc = "\\") => expandWord(s, lookup, esc);

describe("expandWord (BuildKit ProcessWord)", () => {
  it.each([
    ["$A", "a"],
    ["${A}", "a"],
    ["pre-${A}-post", "pre-a-post"],
    ["$A$A", "aa"],
    ["$UNSET", ""],
    ["${UNSET}", ""],
    ["${UNSET:-def}", "def"],
    ["${UNSET-def}", "def"],
    ["${EMPTY:-def}", "def"],
    ["${EMPTY-def}", ""],
    ["${A:-def}", "a"],
    ["${A:+alt}", "alt"],
    ["${A+alt}", "alt"],
    ["${EMPTY:+alt}", ""],
    ["${EMPTY+alt}", "alt"],
    ["${UNSET:+alt}", ""],
    ["${UNSET:-$A}", "a"],
    ["${UNSET:-${N1}x}", "onex"],
    ["${UNSET:-a b}", "a b"],
    ["\\$A", "$A"],
    ["\\${A}", "${A}"],
    ["'$A'", "$A"],
    ['"$A"', "a"],
    ['"\\$A"', "$A"],
    ['"a\\b"', "a\\b"],
    ['"a\\"b"', 'a"b'],
    ["a\\ b", "a b"],
    ["$", "$"],
    ["a$", "a$"],
    ["$-x", "$-x"],
    ["$1", ""],
    ["${PATH}:/x", "/usr/bin:/x"],
    ["$A_B", ""],
    ["$A-B", "a-B"],
    ["a  b", "a  b"],
    ["'it''s'", "its"],
  ])("%s → %s", (input, out) => {
    expect(w(input)).toBe(out);
  });

  it("uses the backtick as escape with # escape=`", () => {
    expect(w("`$A", "`")).toBe("$A");
    expect(w("C:\\path\\$A", "`")).toBe("C:\\path\\a");
  });

  it("${VAR:?msg} and ${VAR?msg} fail when unset", () => {
    expect(w("${A:?nope}")).toBe("a");
    expect(() => w("${UNSET:?must be set}")).toThrow("UNSET: must be set");
    expect(() => w("${EMPTY:?}")).toThrow("EMPTY: is not allowed to be unset");
    expect(w("${EMPTY?x}")).toBe("");
  });

  it.each([
    ["${A", "missing '}'"],
    ["${A:-x", "missing '}'"],
    ["${}", "bad substitution"],
    ["${A/x/y}", "unsupported modifier (/) in substitution"],
    ["'abc", "matching single-quote"],
    ['"abc', "matching double-quote"],
  ])("%s is an error (%s)", (input, msg) => {
    expect(() => w(input)).toThrow(ShellLexError);
    expect(() => w(input)).toThrow(msg);
  });
});

describe("expandWords (ProcessWords)", () => {
  it("splits on unquoted whitespace, including in expansions", () => {
    expect(expandWords("80 $A", lookup)).toEqual(["80", "a"]);
    expect(expandWords("$SP z", lookup)).toEqual(["x", "y", "z"]);
    expect(expandWords('"$SP" z', lookup)).toEqual(["x  y", "z"]);
    expect(expandWords("''", lookup)).toEqual([""]);
    expect(expandWords("$UNSET", lookup)).toEqual([]);
  });
});

describe("splitWordsKeepQuotes (parser.parseWords)", () => {
  it("keeps quotes and escapes for later expansion", () => {
    expect(splitWordsKeepQuotes("a=1 b=\"x y\" c='q r'", "\\")).toEqual([
      "a=1",
      'b="x y"',
      "c='q r'",
    ]);
    expect(splitWordsKeepQuotes("a=x\\ y b", "\\")).toEqual(["a=x\\ y", "b"]);
    expect(splitWordsKeepQuotes('k="a \\" b"', "\\")).toEqual(['k="a \\" b"']);
    expect(splitWordsKeepQuotes('x=""', "\\")).toEqual(['x=""']);
    expect(splitWordsKeepQuotes("  ", "\\")).toEqual([]);
  });
});
