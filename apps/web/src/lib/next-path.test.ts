import { describe, expect, it } from "vitest";
import { loginPathFor, safeNextPath } from "./next-path";

describe("safeNextPath", () => {
  it("keeps same-origin paths", () => {
    expect(safeNextPath("/containers/abc?x=1")).toBe("/containers/abc?x=1");
  });
  it("refuses anything that could leave the site or loop back to login", () => {
    for (const bad of [
      null,
      undefined,
      "",
      "containers",
      "//evil.example",
      "/\\evil.example",
      "https://evil.example",
      "/login",
      "/login?next=/x",
      "/a\nb",
    ]) {
      expect(safeNextPath(bad)).toBe("/");
    }
  });
});

describe("loginPathFor", () => {
  it("carries the page to return to", () => {
    expect(loginPathFor("/containers")).toBe("/login?next=%2Fcontainers");
    expect(loginPathFor("/")).toBe("/login");
  });
});
