import { describe, expect, it } from "vitest";
import { ImageSaveChunkSchema, parseImageChanges } from "./image-archive";

describe("parseImageChanges (image import --change)", () => {
  it("folds CMD, ENTRYPOINT (exec and shell forms), ENV and WORKDIR as docker does", () => {
    expect(
      parseImageChanges([
        'CMD ["sh", "-c", "echo hi"]',
        "entrypoint /bin/run --fast",
        "ENV A=1 B=2",
        "ENV GREETING hello world",
        "WORKDIR /srv",
      ]),
    ).toEqual({
      cmd: ["sh", "-c", "echo hi"],
      entrypoint: ["/bin/sh", "-c", "/bin/run --fast"],
      env: ["A=1", "B=2", "GREETING=hello world"],
      workdir: "/srv",
    });
  });

  it("refuses other instructions, bad JSON and relative WORKDIR with a readable message", () => {
    expect(() => parseImageChanges(["RUN rm -rf /"])).toThrow(
      "--change supports CMD, ENTRYPOINT, ENV and WORKDIR, not RUN",
    );
    expect(() => parseImageChanges(['CMD ["sh"'])).toThrow(/invalid JSON array/);
    expect(() => parseImageChanges(["CMD [1, 2]"])).toThrow(/JSON array of strings/);
    expect(() => parseImageChanges(["WORKDIR srv"])).toThrow(/WORKDIR must be absolute/);
  });

  it("bounds save chunks to base64 of at most 256 KiB", () => {
    const ok = Buffer.alloc(256 * 1024).toString("base64");
    expect(ImageSaveChunkSchema.safeParse({ data: ok }).success).toBe(true);
    const big = Buffer.alloc(256 * 1024 + 3).toString("base64");
    expect(ImageSaveChunkSchema.safeParse({ data: big }).success).toBe(false);
  });
});
