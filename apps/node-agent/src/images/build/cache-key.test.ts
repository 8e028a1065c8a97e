import { describe, expect, it } from "vitest";
import { copyFromInputDigest, stepCacheKey, type CacheKeyInput } from "./cache-key";
import { parseDockerfile } from "./dockerfile";
import { evaluateStage, planBuild, type PlanOptions, type Step } from "./stages";

const base: CacheKeyInput = {
  parent: "sha256:" + "a".repeat(64),
  platform: "linux/amd64",
  instruction: 'RUN ["/bin/sh","-c","make"]',
  vars: [["A", "1"]],
  network: "none",
};

/** Keys of every step of the target stage, chained like the builder will chain them. */
function keys(text: string, opts: PlanOptions = {}, parent = "scratch"): string[] {
  const plan = planBuild(parseDockerfile(text), opts);
  const steps: Step[] = evaluateStage(plan, plan.target).steps;
  const out: string[] = [];
  let prev = parent;
  for (const s of steps) {
    prev = stepCacheKey({
      parent: prev,
      platform: "linux/amd64",
      instruction: s.text,
      vars: s.vars,
      ...(s.keyword === "RUN" ? { network: s.network === "host" ? "host" : "none" } : {}),
    });
    out.push(prev);
  }
  return out;
}

describe("stepCacheKey", () => {
  it("is a stable sha256 of its inputs, independent of var order", () => {
    const k = stepCacheKey(base);
    expect(k).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(stepCacheKey({ ...base })).toBe(k);
    const two: CacheKeyInput = {
      ...base,
      vars: [
        ["B", "2"],
        ["A", "1"],
      ],
    };
    expect(stepCacheKey(two)).toBe(
      stepCacheKey({
        ...base,
        vars: [
          ["A", "1"],
          ["B", "2"],
        ],
      }),
    );
  });

  it("changes with every input", () => {
    const k = stepCacheKey(base);
    const variants: CacheKeyInput[] = [
      { ...base, parent: "sha256:" + "b".repeat(64) },
      { ...base, platform: "linux/arm64" },
      { ...base, instruction: 'RUN ["/bin/sh","-c","make all"]' },
      { ...base, vars: [["A", "2"]] },
      { ...base, vars: [] },
      { ...base, network: "host" },
      { ...base, input: "sha256:" + "c".repeat(64) },
    ];
    const all = new Set([k, ...variants.map(stepCacheKey)]);
    expect(all.size).toBe(variants.length + 1);
  });

  it("refuses malformed input", () => {
    expect(() => stepCacheKey({ ...base, parent: "" })).toThrow();
  });

  it("copyFromInputDigest depends on the source and the paths", () => {
    const a = copyFromInputDigest("sha256:1", ["/out/app"]);
    expect(a).toBe(copyFromInputDigest("sha256:1", ["/out/app"]));
    expect(a).not.toBe(copyFromInputDigest("sha256:2", ["/out/app"]));
    expect(a).not.toBe(copyFromInputDigest("sha256:1", ["/out/app2"]));
  });
});

describe("cache keys of real Dockerfiles", () => {
  const df = "FROM alpine\nARG V=1\nRUN echo build\nENV X=$V\nRUN echo $X\n";

  it("the same Dockerfile gives the same keys; spelling differences that Docker ignores too", () => {
    expect(keys(df)).toEqual(keys(df));
    expect(keys("from alpine\narg V=1\nrun   echo build\nENV X=${V}\nRUN echo $X\n")).toEqual(
      keys(df),
    );
    expect(keys("FROM alpine\nARG V=1\nRUN echo  build\nENV X=$V\nRUN echo $X\n")).not.toEqual(
      keys(df),
    );
  });

  it("a changed build arg invalidates the steps after its ARG, not before", () => {
    const a = keys(df);
    const b = keys(df, { buildArgs: { V: "2" } });
    expect(b[0]).not.toBe(a[0]); // the ARG step itself records the value
    expect(b.slice(1)).not.toEqual(a.slice(1));
    const c = keys("FROM alpine\nRUN echo build\nARG V=1\nRUN echo $V\n");
    const d = keys("FROM alpine\nRUN echo build\nARG V=1\nRUN echo $V\n", {
      buildArgs: { V: "2" },
    });
    expect(d[0]).toBe(c[0]);
    expect(d[1]).not.toBe(c[1]);
  });

  it("an undeclared or proxy build arg does not change any key", () => {
    expect(keys(df, { buildArgs: { UNUSED: "x", HTTP_PROXY: "http://p:3128" } })).toEqual(keys(df));
  });

  it("the parent chains keys: an earlier change changes every later key", () => {
    const a = keys(df);
    const b = keys(df.replace("echo build", "echo BUILD"));
    expect(b[0]).toBe(a[0]);
    for (let i = 1; i < a.length; i++) expect(b[i]).not.toBe(a[i]);
    expect(keys(df, {}, "sha256:" + "9".repeat(64))[0]).not.toBe(a[0]);
  });
});
