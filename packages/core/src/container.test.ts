import { describe, expect, it } from "vitest";
import {
  ContainerNameSchema,
  ContainerSpecSchema,
  EnvVarSchema,
  ImageRefSchema,
} from "./container";
import { formatBytes, parseByteSize } from "./units";
import { DomainError, toErrorBody } from "./errors";
import { newContainerId, newId, newSecret, shortId } from "./ids";

describe("image references", () => {
  it.each([
    "busybox",
    "busybox:latest",
    "localhost:5000/team/app:v1.2",
    "ghcr.io/a/b",
    `busybox@sha256:${"a".repeat(64)}`,
  ])("accepts %s", (ref) => expect(ImageRefSchema.safeParse(ref).success).toBe(true));
  it.each(["", "BusyBox", "busybox:", "../etc", "a b", "busybox@sha256:short"])(
    "rejects %j",
    (ref) => expect(ImageRefSchema.safeParse(ref).success).toBe(false),
  );
});

describe("container spec", () => {
  it("applies defaults", () => {
    const s = ContainerSpecSchema.parse({ image: "busybox", command: ["echo", "hi"] });
    expect(s).toMatchObject({ tty: false, env: [], labels: {}, limits: {} });
  });
  it("rejects relative working dirs and bad env", () => {
    expect(ContainerSpecSchema.safeParse({ image: "busybox", workingDir: "tmp" }).success).toBe(
      false,
    );
    expect(EnvVarSchema.safeParse("NOEQUALS").success).toBe(false);
    expect(EnvVarSchema.safeParse("A=b=c").success).toBe(true);
  });
  it("validates names like docker", () => {
    expect(ContainerNameSchema.safeParse("web_1.a-b").success).toBe(true);
    expect(ContainerNameSchema.safeParse("-web").success).toBe(false);
    expect(ContainerNameSchema.safeParse("a").success).toBe(false);
  });
});

describe("units", () => {
  it("parses sizes as docker does", () => {
    expect(parseByteSize("64m")).toBe(64 * 1024 * 1024);
    expect(parseByteSize("1g")).toBe(1024 ** 3);
    expect(parseByteSize("1.5k")).toBe(1536);
    expect(parseByteSize("100")).toBe(100);
    expect(() => parseByteSize("12q")).toThrow(/unit/);
    expect(() => parseByteSize("lots")).toThrow(/invalid size/);
  });
  it("formats bytes", () => {
    expect(formatBytes(512)).toBe("512 B");
    expect(formatBytes(64 * 1024 * 1024)).toBe("64 MiB");
  });
});

describe("ids and errors", () => {
  it("makes well-formed ids", () => {
    expect(newId()).toMatch(/^[a-z2-7]{26}$/);
    const c = newContainerId();
    expect(c).toMatch(/^[0-9a-f]{64}$/);
    expect(shortId(c)).toHaveLength(12);
    expect(newSecret()).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(new Set(Array.from({ length: 100 }, newId)).size).toBe(100);
  });
  it("serialises domain errors and hides non-domain details", () => {
    const e = new DomainError("not_found", "no such container", { ref: "x" });
    expect(toErrorBody(e)).toEqual({
      kind: "not_found",
      message: "no such container",
      details: { ref: "x" },
    });
    expect(toErrorBody(new TypeError("boom"))).toEqual({ kind: "internal", message: "boom" });
    expect(DomainError.fromBody(e.toBody()).kind).toBe("not_found");
  });
});
