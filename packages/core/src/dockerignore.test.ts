import { describe, expect, it } from "vitest";
import { DockerignoreError, DockerignoreMatcher, goClean, readDockerignore } from "./dockerignore";
import { compileGlob, GlobError, globMatch, hasGlobMeta } from "./glob";

const m = (text: string) => DockerignoreMatcher.fromText(text);

describe(".dockerignore (Docker's documented examples)", () => {
  it("the example from Docker's docs", () => {
    const ig = m("# comment\n*/temp*\n*/*/temp*\ntemp?\n");
    expect(ig.excludes("somedir/temporary.txt")).toBe(true);
    expect(ig.excludes("somedir/temp")).toBe(true);
    expect(ig.excludes("somedir/temp/inside.txt")).toBe(true); // parent dir matches
    expect(ig.excludes("somedir/subdir/temporary.txt")).toBe(true);
    expect(ig.excludes("tempa")).toBe(true);
    expect(ig.excludes("tempb")).toBe(true);
    expect(ig.excludes("temporary.txt")).toBe(false);
    expect(ig.excludes("a/b/c/temp")).toBe(false);
    expect(ig.excludes("# comment")).toBe(false);
  });

  it("** matches any number of directories, zero included", () => {
    const ig = m("**/*.go\n");
    expect(ig.excludes("main.go")).toBe(true);
    expect(ig.excludes("cmd/app/main.go")).toBe(true);
    expect(ig.excludes("main.go.txt")).toBe(false);
    const ig2 = m("a/**/b\n");
    expect(ig2.excludes("a/b")).toBe(true);
    expect(ig2.excludes("a/x/y/b")).toBe(true);
    expect(ig2.excludes("a/x/y/b/c.txt")).toBe(true);
    expect(ig2.excludes("x/a/b")).toBe(false);
    expect(m("**\n!keep\n").excludes("anything/at/all")).toBe(true);
    expect(m("**\n!keep\n").excludes("keep")).toBe(false);
  });

  it("patterns are anchored at the root (unlike .gitignore)", () => {
    const ig = m("*.md\n");
    expect(ig.excludes("README.md")).toBe(true);
    expect(ig.excludes("docs/guide.md")).toBe(false);
  });

  it("exceptions: the last matching line wins", () => {
    const a = m("*.md\n!README*.md\nREADME-secret.md\n");
    expect(a.excludes("CHANGES.md")).toBe(true);
    expect(a.excludes("README.md")).toBe(false);
    expect(a.excludes("README-secret.md")).toBe(true);
    const b = m("*.md\nREADME-secret.md\n!README*.md\n");
    expect(b.excludes("README-secret.md")).toBe(false);
    expect(b.excludes("CHANGES.md")).toBe(true);
  });

  it("re-including a file below an excluded directory", () => {
    const ig = m("node_modules\n!node_modules/keep.txt\n");
    expect(ig.excludes("node_modules")).toBe(true);
    expect(ig.excludes("node_modules/x/y.js")).toBe(true);
    expect(ig.excludes("node_modules/keep.txt")).toBe(false);
    expect(ig.mayIncludeBelow("node_modules")).toBe(true);
    expect(ig.mayIncludeBelow("other")).toBe(false);
    expect(m("node_modules\n").mayIncludeBelow("node_modules")).toBe(false);
  });

  it("leading / is stripped, paths are cleaned, whitespace trimmed", () => {
    expect(readDockerignore("/build\n  ./dist/  \n!/keep\nsrc/../tmp\n\n# c\n \t\n! x\n")).toEqual([
      "build",
      "dist",
      "!keep",
      "tmp",
      "!x",
    ]);
    const ig = m("/build\n");
    expect(ig.excludes("build/out.o")).toBe(true);
    expect(ig.excludes("sub/build")).toBe(false);
  });

  it("classes, ? and escapes follow filepath.Match; regexp metacharacters are literal", () => {
    const ig = m("file[0-9].txt\nlog?\n\\*literal\nc++\n(x)|y\n[^a]b\n");
    expect(ig.excludes("file7.txt")).toBe(true);
    expect(ig.excludes("filex.txt")).toBe(false);
    expect(ig.excludes("log1")).toBe(true);
    expect(ig.excludes("log/")).toBe(false);
    expect(ig.excludes("*literal")).toBe(true);
    expect(ig.excludes("xliteral")).toBe(false);
    expect(ig.excludes("c++")).toBe(true);
    expect(ig.excludes("cc")).toBe(false);
    expect(ig.excludes("(x)|y")).toBe(true);
    expect(ig.excludes("x")).toBe(false);
    expect(ig.excludes("cb")).toBe(true);
    expect(ig.excludes("ab")).toBe(false);
  });

  it("is case-sensitive, like Docker on Linux", () => {
    expect(m("Secret\n").excludes("secret")).toBe(false);
  });

  it("bad patterns are errors", () => {
    expect(() => m("[abc\n")).toThrow(DockerignoreError);
    expect(() => new DockerignoreMatcher(["!"])).toThrow('illegal exclusion pattern: "!"');
  });

  it("goClean is Go's path.Clean", () => {
    expect(goClean("a//b/./c/..")).toBe("a/b");
    expect(goClean("/../x")).toBe("/x");
    expect(goClean("../x")).toBe("../x");
    expect(goClean("")).toBe(".");
    expect(goClean("./")).toBe(".");
  });
});

describe("COPY wildcards (path.Match)", () => {
  it.each([
    ["*.go", "main.go", true],
    ["*.go", ".hidden.go", true],
    ["*.go", "dir/main.go", false],
    ["*", "", true],
    ["a?c", "abc", true],
    ["a?c", "a/c", false],
    ["[a-c]x", "bx", true],
    ["[a-c]x", "dx", false],
    ["[^a-c]x", "dx", true],
    ["[^a-c]x", "bx", false],
    ["[\\]]", "]", true],
    ["[-]", "-", false],
    ["\\*", "*", true],
    ["\\*", "x", false],
    ["a*b*c", "aXXbYYc", true],
    ["**", "abc", true],
    ["src/*/main.c", "src/x/main.c", true],
    ["x+y", "x+y", true],
    ["x.y", "xzy", false],
  ])("path.Match(%j, %j) = %s", (pattern, name, want) => {
    if (pattern === "[-]") {
      expect(() => compileGlob(pattern)).toThrow(GlobError);
      return;
    }
    expect(globMatch(pattern, name)).toBe(want);
  });

  it("malformed patterns are errors (ErrBadPattern)", () => {
    for (const p of ["[", "[a", "a\\", "[]", "[z-a]"])
      expect(() => compileGlob(p), p).toThrow(GlobError);
  });

  it("detects wildcard characters", () => {
    expect(hasGlobMeta("src/*.js")).toBe(true);
    expect(hasGlobMeta("file[1]")).toBe(true);
    expect(hasGlobMeta("plain/path.txt")).toBe(false);
  });
});
