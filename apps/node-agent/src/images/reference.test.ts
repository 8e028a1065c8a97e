import { describe, expect, it } from "vitest";
import { familiarReference, normalizeReference, parseReference } from "./reference";

describe("normalizeReference", () => {
  it("names busybox the same in its three spellings", () => {
    for (const r of ["busybox", "busybox:latest", "docker.io/library/busybox:latest"]) {
      expect(normalizeReference(r)).toBe("docker.io/library/busybox:latest");
    }
  });

  it("keeps registries with ports, namespaces, tags and digests", () => {
    expect(normalizeReference("localhost:5000/team/app:v1")).toBe("localhost:5000/team/app:v1");
    expect(normalizeReference("team/app")).toBe("docker.io/team/app:latest");
    const d = `sha256:${"a".repeat(64)}`;
    expect(normalizeReference(`busybox@${d}`)).toBe(`docker.io/library/busybox@${d}`);
  });

  it("rejects invalid references with invalid_input", () => {
    expect(() => normalizeReference("Busybox!")).toThrow(/invalid image reference/);
  });

  it("follows Docker's rules for registries, paths, tags and digests", () => {
    const d = `sha256:${"b".repeat(64)}`;
    expect(parseReference("localhost/x")).toEqual({
      domain: "localhost",
      path: "x",
      tag: "latest",
      digest: undefined,
    });
    expect(parseReference("127.0.0.1:5000/team/app:v1.2")).toMatchObject({
      domain: "127.0.0.1:5000",
      path: "team/app",
      tag: "v1.2",
    });
    expect(parseReference(`registry.example.com/a/b/c:t@${d}`)).toEqual({
      domain: "registry.example.com",
      path: "a/b/c",
      tag: "t",
      digest: d,
    });
    expect(parseReference(`app@${d}`)).toEqual({
      domain: "docker.io",
      path: "library/app",
      tag: undefined,
      digest: d,
    });
    expect(normalizeReference("docker.io/busybox")).toBe("docker.io/library/busybox:latest");
    expect(normalizeReference("index.docker.io/library/busybox:1")).toBe(
      "docker.io/library/busybox:1",
    );
    expect(parseReference("[::1]:5000/app").domain).toBe("[::1]:5000");
    // A capitalised first component is a host (Docker's rule), not a path.
    expect(parseReference("MyHost/app").domain).toBe("MyHost");
    expect(normalizeReference("my_app/x-y__z.w:1")).toBe("docker.io/my_app/x-y__z.w:1");
  });

  it.each([
    ["", /empty/],
    ["Busybox", /must be lowercase/],
    ["team/App:1", /must be lowercase/],
    ["busybox:", /tag ""/],
    ["busybox:-x", /tag "-x"/],
    [`busybox:${"t".repeat(129)}`, /tag/],
    ["busybox@sha256:abc", /not a digest/],
    [`busybox@sha512:${"a".repeat(128)}`, /not a digest/],
    ["a//b", /not a valid path component/],
    ["a/-b", /not a valid path component/],
    ["-bad.host/x", /not a valid registry/],
    [`h.io/${"a".repeat(251)}`, /longer than 255/],
    ["x".repeat(600), /longer than 512/],
  ])("refuses %j", (ref, why) => {
    expect(() => parseReference(ref)).toThrow(why);
    try {
      parseReference(ref);
    } catch (e) {
      expect(e).toMatchObject({ kind: "invalid_input" });
    }
  });
});

describe("familiarReference", () => {
  it("shortens Docker Hub names", () => {
    expect(familiarReference("docker.io/library/busybox:latest")).toBe("busybox:latest");
    expect(familiarReference("docker.io/team/app:v1")).toBe("team/app:v1");
    expect(familiarReference("localhost:5000/team/app:v1")).toBe("localhost:5000/team/app:v1");
  });
});
