import { describe, expect, it } from "vitest";
import { collectFacts, parseOsRelease } from "./facts";

describe("parseOsRelease", () => {
  it("reads PRETTY_NAME, quoted or not", () => {
    expect(parseOsRelease('NAME="Debian"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n')).toBe(
      "Debian GNU/Linux 12 (bookworm)",
    );
    expect(parseOsRelease("PRETTY_NAME=Plain\n")).toBe("Plain");
    expect(parseOsRelease("NAME=x\n")).toBeUndefined();
  });
});

describe("collectFacts", () => {
  it("returns facts valid against NodeFactsSchema", async () => {
    const f = await collectFacts({
      cgroup: { version: 1, mode: "hybrid", parent: "/x" },
      runtime: { name: "runc", version: "1.1.5", path: "/usr/sbin/runc" },
      monitor: { name: "conmon", version: "2.1.6" },
      agentVersion: "0.1.0",
    });
    expect(f.cpus).toBeGreaterThan(0);
    expect(f.memoryBytes).toBeGreaterThan(0);
    expect(f.kernel).toMatch(/^\d+\./);
    expect(f.cgroup.parent).toBe("/x");
  });
});
