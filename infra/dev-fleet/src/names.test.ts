import { describe, expect, it } from "vitest";
import { addressesOf, fleetNames, overlaps, parseCidr, pickSubnet } from "./names";

describe("fleet names", () => {
  it("derives every name from the prefix and keeps interface names short", () => {
    const n = fleetNames("bfl");
    expect(n.bridge).toBe("bfl0");
    expect(n.host(3)).toEqual({
      name: "bfl-h3",
      veth: "bflv3",
      netns: "/run/berth-fleet/bfl/netns/bfl-h3",
      stateDir: "/run/berth-fleet/bfl/hosts/bfl-h3",
      log: "/run/berth-fleet/bfl/hosts/bfl-h3.log",
      networkPrefix: "bflc",
    });
    expect(fleetNames("b2x").host(27).networkPrefix).toBe("bxba");
    expect(fleetNames("abcdefgh").host(64).networkPrefix).toMatch(/^[a-z]{2,8}$/);
    expect(fleetNames("abcdefgh").host(64).veth.length).toBeLessThanOrEqual(15);
    expect(n.ownsLink("bfl0")).toBe(true);
    expect(n.ownsLink("bflv12")).toBe(true);
    expect(n.ownsLink("bflx")).toBe(false);
    expect(n.ownsLink("bfl00")).toBe(false);
    expect(n.ownsLink("berth0")).toBe(false);
  });

  it("refuses bad prefixes (and the real agent's) and host indexes out of range", () => {
    expect(() => fleetNames("B")).toThrow(/prefix must be/);
    expect(() => fleetNames("a-b")).toThrow(/prefix must be/);
    expect(() => fleetNames("toolongprefix")).toThrow(/prefix must be/);
    expect(() => fleetNames("berth")).toThrow(/real agent/);
    expect(() => fleetNames("bfl").host(0)).toThrow(/out of range/);
    expect(() => fleetNames("bfl", "run")).toThrow(/absolute/);
    expect(() => fleetNames("bfl", "/run/../etc")).toThrow(/absolute/);
  });
});

describe("fleet subnet", () => {
  it("parses and compares CIDRs", () => {
    expect(parseCidr("10.213.4.0/24")).toEqual({
      base: (10 << 24) + (213 << 16) + (4 << 8),
      bits: 24,
    });
    expect(overlaps(parseCidr("10.0.0.0/8"), parseCidr("10.213.4.0/24"))).toBe(true);
    expect(overlaps(parseCidr("10.213.5.7"), parseCidr("10.213.4.0/24"))).toBe(false);
    expect(() => parseCidr("10.0.0.256/24")).toThrow(/IPv4/);
  });

  it("skips /24s that overlap a route or address, ignores the default route", () => {
    const free = pickSubnet("bfl", ["default"]);
    expect(free).toMatch(/^10\.213\.\d+\.0\/24$/);
    const next = pickSubnet("bfl", ["default", free, "192.0.2.0/24"]);
    expect(next).not.toBe(free);
    expect(pickSubnet("bfl", [free.replace(".0/24", ".9/32")])).not.toBe(free);
    expect(() => pickSubnet("bfl", ["10.213.0.0/16"])).toThrow(/no free/);
    expect(() => pickSubnet("bfl", ["10.0.0.0/8"])).toThrow(/no free/);
  });

  it("gives the server .1 and host i .(10+i)", () => {
    const a = addressesOf("10.213.7.0/24");
    expect(a.server).toBe("10.213.7.1");
    expect(a.host(1)).toBe("10.213.7.11");
    expect(() => addressesOf("10.213.0.0/16")).toThrow(/\/24/);
  });
});
