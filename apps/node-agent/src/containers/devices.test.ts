import { describe, expect, it } from "vitest";
import { DeviceMappingSchema } from "@berth/core";
import { buildSpec } from "../runtime/spec/spec-opts";
import { withDevices } from "../runtime/spec/devices";
import { resolveDevices, splitDev } from "./devices";

const dev = (d: { hostPath: string; containerPath?: string; permissions?: string }) =>
  DeviceMappingSchema.parse(d);

describe("--device on the agent", () => {
  it("splits dev_t like glibc (large majors and minors included)", () => {
    expect(splitDev(0x0103n)).toEqual({ major: 1, minor: 3 });
    expect(splitDev(0xfd00n)).toEqual({ major: 253, minor: 0 });
    // major 300, minor 70000: makedev = (minor & 0xff) | ((major & 0xfff) << 8) | ((minor & ~0xff) << 12)
    const makedev = (ma: bigint, mi: bigint) =>
      (mi & 0xffn) | ((ma & 0xfffn) << 8n) | ((mi & ~0xffn) << 12n) | ((ma & ~0xfffn) << 32n);
    expect(splitDev(makedev(300n, 70000n))).toEqual({ major: 300, minor: 70000 });
  });

  it("stats a host char device into the spec's node", async () => {
    const [d] = await resolveDevices([dev({ hostPath: "/dev/null", containerPath: "/dev/n" })]);
    expect(d).toMatchObject({ path: "/dev/n", type: "c", major: 1, minor: 3, permissions: "rwm" });
    expect(d!.fileMode).toBe(0o666);
  });

  it("refuses non-devices, symlinks out of /dev, reserved targets and duplicates", async () => {
    await expect(
      resolveDevices([dev({ hostPath: "/dev/shm", containerPath: "/dev/x" })]),
    ).rejects.toThrow(/not a character or block device/);
    await expect(resolveDevices([dev({ hostPath: "/dev/stdin" })])).rejects.toThrow(
      /no such device on this host/,
    );
    await expect(
      resolveDevices([dev({ hostPath: "/dev/null", containerPath: "/dev/pts/9" })]),
    ).rejects.toThrow(/mount point of \/dev/);
    await expect(
      resolveDevices([
        dev({ hostPath: "/dev/null" }),
        dev({ hostPath: "/dev/zero", containerPath: "/dev/null" }),
      ]),
    ).rejects.toThrow(/given twice/);
    expect(() => dev({ hostPath: "/etc/passwd" })).toThrow(/under \/dev\//);
    expect(() => dev({ hostPath: "/dev/null", permissions: "rx" })).toThrow(/subset of rwm/);
    expect(() => dev({ hostPath: "/dev/" })).toThrow(/must name a device/);
  });

  it("adds the node, an allow rule with the permissions and a deny rule for the rest", () => {
    const spec = buildSpec(
      withDevices([
        {
          path: "/dev/fake",
          type: "c",
          major: 241,
          minor: 7,
          fileMode: 0o666,
          uid: 0,
          gid: 0,
          permissions: "r",
        },
      ]),
    );
    expect(spec.linux.devices).toEqual([
      { path: "/dev/fake", type: "c", major: 241, minor: 7, fileMode: 0o666, uid: 0, gid: 0 },
    ]);
    expect(spec.linux.resources!.devices!.slice(-2)).toEqual([
      { allow: true, type: "c", major: 241, minor: 7, access: "r" },
      { allow: false, type: "c", major: 241, minor: 7, access: "wm" },
    ]);
  });
});
