import { describe, expect, it } from "vitest";
import { overlayMountArgs, parseMountInfo } from "./mount";

describe("parseMountInfo", () => {
  it("parses fields, optional fields and octal escapes", () => {
    const text =
      "36 35 98:0 /mnt1 /mnt\\040with\\040space rw,noatime master:1 - ext3 /dev/root rw,errors=continue\n" +
      "100 29 0:52 / /var/lib/x/rootfs rw,relatime - overlay overlay rw,lowerdir=/a,upperdir=/b,workdir=/c\n";
    const m = parseMountInfo(text);
    expect(m).toHaveLength(2);
    expect(m[0]).toMatchObject({
      id: 36,
      parentId: 35,
      root: "/mnt1",
      mountPoint: "/mnt with space",
      fsType: "ext3",
    });
    expect(m[1]).toMatchObject({
      mountPoint: "/var/lib/x/rootfs",
      fsType: "overlay",
      source: "overlay",
    });
  });
});

describe("overlayMountArgs", () => {
  it("builds an argv with lower dirs topmost first", () => {
    expect(
      overlayMountArgs({ lowerDirs: ["/l2", "/l1"], upperDir: "/u", workDir: "/w", target: "/t" }),
    ).toEqual([
      "mount",
      "-t",
      "overlay",
      "overlay",
      "-o",
      "lowerdir=/l2:/l1,upperdir=/u,workdir=/w",
      "/t",
    ]);
  });

  it("refuses paths that would inject overlay options", () => {
    expect(() =>
      overlayMountArgs({
        lowerDirs: ["/l,upperdir=/etc"],
        upperDir: "/u",
        workDir: "/w",
        target: "/t",
      }),
    ).toThrow(/contains/);
    expect(() =>
      overlayMountArgs({ lowerDirs: [], upperDir: "/u", workDir: "/w", target: "/t" }),
    ).toThrow();
  });
});
