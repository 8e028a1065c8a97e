import { describe, expect, it } from "vitest";
import {
  CidrSchema,
  cidrContains,
  cidrsOverlap,
  hostRange,
  intToIp,
  ipToInt,
  macFromIp,
  parseCidr,
} from "./ipv4";

describe("ipv4", () => {
  it("converts addresses both ways", () => {
    expect(ipToInt("172.30.0.1")).toBe(0xac1e0001);
    expect(intToIp(0xffffffff)).toBe("255.255.255.255");
    expect(() => ipToInt("256.1.1.1")).toThrow();
  });

  it("parses and normalizes subnets", () => {
    expect(CidrSchema.parse("10.1.2.3/16")).toBe("10.1.0.0/16");
    expect(CidrSchema.safeParse("10.1.2.3").success).toBe(false);
    expect(CidrSchema.safeParse("10.1.2.3/33").success).toBe(false);
    expect(hostRange(parseCidr("10.0.0.0/24"))).toEqual({
      first: ipToInt("10.0.0.1"),
      last: ipToInt("10.0.0.254"),
    });
    expect(() => hostRange(parseCidr("10.0.0.0/31"))).toThrow(/too small/);
  });

  it("finds overlaps and containment", () => {
    expect(cidrsOverlap(parseCidr("10.0.0.0/8"), parseCidr("10.5.0.0/16"))).toBe(true);
    expect(cidrsOverlap(parseCidr("10.0.0.0/24"), parseCidr("10.0.1.0/24"))).toBe(false);
    expect(cidrContains(parseCidr("192.168.0.0/20"), ipToInt("192.168.15.255"))).toBe(true);
    expect(cidrContains(parseCidr("192.168.0.0/20"), ipToInt("192.168.16.0"))).toBe(false);
  });

  it("derives docker-style MACs", () => {
    expect(macFromIp("172.17.0.2")).toBe("02:42:ac:11:00:02");
  });
});
