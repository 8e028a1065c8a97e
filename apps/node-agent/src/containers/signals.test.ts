import { describe, expect, it } from "vitest";
import type { ImageConfig } from "../images/oci";
import { isKill, signalName, stopSignalOf } from "./signals";

const base: ImageConfig = {
  architecture: "amd64",
  os: "linux",
  rootfs: { type: "layers", diff_ids: [] },
};

describe("signalName", () => {
  it("normalizes names and numbers the way docker kill -s takes them", () => {
    expect(signalName("usr1")).toBe("SIGUSR1");
    expect(signalName("SIGTERM")).toBe("SIGTERM");
    expect(signalName("Kill")).toBe("SIGKILL");
    expect(signalName("9")).toBe("9");
    expect(signalName("64")).toBe("64");
  });

  it("refuses unknown names, out-of-range numbers and junk with invalid_input", () => {
    for (const bad of ["SIGNOPE", "0", "65", "", "TERM; rm -rf /", "-9"]) {
      expect(() => signalName(bad)).toThrow(expect.objectContaining({ kind: "invalid_input" }));
    }
    expect(() => signalName("SIGNOPE")).toThrow(/invalid signal "SIGNOPE"/);
  });

  it("knows SIGKILL in both spellings", () => {
    expect(isKill(signalName("kill"))).toBe(true);
    expect(isKill(signalName("9"))).toBe(true);
    expect(isKill(signalName("TERM"))).toBe(false);
  });
});

describe("stopSignalOf", () => {
  it("reads the image's StopSignal", () => {
    const warn: string[] = [];
    expect(stopSignalOf({ ...base, config: { StopSignal: "SIGQUIT" } }, (m) => warn.push(m))).toBe(
      "SIGQUIT",
    );
    expect(stopSignalOf(base, (m) => warn.push(m))).toBeNull();
    expect(warn).toEqual([]);
  });

  it("ignores an invalid StopSignal with a warning", () => {
    const warn: string[] = [];
    expect(
      stopSignalOf({ ...base, config: { StopSignal: "SIGBOGUS" } }, (m) => warn.push(m)),
    ).toBeNull();
    expect(warn[0]).toMatch(/SIGBOGUS/);
  });
});
