import { describe, expect, it } from "vitest";
import { familiarReference, normalizeReference } from "./reference";

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
});

describe("familiarReference", () => {
  it("shortens Docker Hub names", () => {
    expect(familiarReference("docker.io/library/busybox:latest")).toBe("busybox:latest");
    expect(familiarReference("docker.io/team/app:v1")).toBe("team/app:v1");
    expect(familiarReference("localhost:5000/team/app:v1")).toBe("localhost:5000/team/app:v1");
  });
});
