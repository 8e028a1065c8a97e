import { describe, expect, it } from "vitest";
import { networkModeOf, portRequestsOf, withNetwork } from "./networking";
import { baseSpec } from "../runtime/spec/spec-opts";

describe("container networking: pure parts", () => {
  it("the default network is bridge", () => {
    expect(networkModeOf({})).toBe("bridge");
    expect(networkModeOf({ network: "none" })).toBe("none");
  });

  it("-p values then -P's EXPOSEd ports (not twice), on random host ports", () => {
    expect(
      portRequestsOf(
        { ports: ["127.0.0.1:8080:80"], publishAll: true },
        {
          "80/tcp": {},
          "53/udp": {},
          "9000": {},
          bogus: {},
        },
      ),
    ).toEqual([
      {
        hostIp: "127.0.0.1",
        hostPort: { start: 8080, end: 8080 },
        containerPort: 80,
        protocol: "tcp",
      },
      { hostIp: "0.0.0.0", hostPort: null, containerPort: 9000, protocol: "tcp" },
      { hostIp: "0.0.0.0", hostPort: null, containerPort: 53, protocol: "udp" },
    ]);
    expect(portRequestsOf({ publishAll: false }, { "80/tcp": {} })).toEqual([]);
    expect(() => portRequestsOf({ ports: ["1:2:3:4"] }, {})).toThrow(/invalid -p/);
  });

  it("joins the netns by path and mounts resolv.conf and hosts read-only, unless the user mounts them", () => {
    const s = baseSpec();
    s.linux.namespaces.push({ type: "network" });
    s.mounts.push({ destination: "/etc/hosts", type: "bind", source: "/mine", options: ["rbind"] });
    withNetwork({
      mode: "bridge",
      netnsPath: "/state/netns/abc",
      ownsNetns: true,
      resolvConf: "/state/c/resolv.conf",
      hosts: "/state/c/hosts",
    })(s);
    expect(s.linux.namespaces.filter((n) => n.type === "network")).toEqual([
      { type: "network", path: "/state/netns/abc" },
    ]);
    expect(s.mounts.filter((m) => m.destination === "/etc/hosts").map((m) => m.source)).toEqual([
      "/mine",
    ]);
    expect(s.mounts.find((m) => m.destination === "/etc/resolv.conf")?.options).toContain("ro");
  });
});
