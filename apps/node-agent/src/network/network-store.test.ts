import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { macFromIp } from "./ipv4";
import { NetworkStore, portsClash, type NetworkRecord } from "./network-store";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), "berth-netstore-"));
  dirs.push(d);
  return join(d, "networks.json");
}

const NET: NetworkRecord = {
  id: "f".repeat(64),
  name: "small",
  teamId: "team1",
  driver: "bridge",
  subnet: "10.50.0.0/29",
  gateway: "10.50.0.1",
  bridge: "berth-fffffffff",
  icc: true,
  masquerade: true,
  internal: false,
  isDefault: false,
  createdAt: "2026-01-01T00:00:00.000Z",
};

const ep = (containerId: string, ip?: string) => ({
  containerId,
  ifName: "eth0",
  hostVeth: `berth_${containerId}`,
  netnsPath: `/x/${containerId}`,
  aliases: [containerId],
  defaultRoute: true,
  ...(ip ? { ip } : {}),
});

describe("NetworkStore IPAM", () => {
  it("hands out each address once, round robin, and persists before returning", async () => {
    const file = tmp();
    const s = await NetworkStore.open(file);
    await s.addNetwork(NET);
    // /29: .1 gateway, .2-.6 usable
    const a = await s.allocate(NET.id, ep("a"), macFromIp);
    const b = await s.allocate(NET.id, ep("b"), macFromIp);
    expect([a.ip, b.ip]).toEqual(["10.50.0.2", "10.50.0.3"]);
    expect(a.mac).toBe("02:42:0a:32:00:02");
    await s.release("a");
    // reload from disk: b still holds .3, the cursor moves on
    const s2 = await NetworkStore.open(file);
    expect(s2.allocations().map((x) => x.ip)).toEqual(["10.50.0.3"]);
    const c = await s2.allocate(NET.id, ep("c"), macFromIp);
    expect(c.ip).toBe("10.50.0.4");
    await s2.allocate(NET.id, ep("d"), macFromIp);
    await s2.allocate(NET.id, ep("e"), macFromIp);
    const f = await s2.allocate(NET.id, ep("f"), macFromIp); // wraps to the freed .2
    expect(f.ip).toBe("10.50.0.2");
    await expect(s2.allocate(NET.id, ep("g"), macFromIp)).rejects.toThrow(/no free address/);
    await expect(s2.allocate(NET.id, ep("c"), macFromIp)).rejects.toThrow(/already connected/);
    const ips = s2.allocations().map((x) => x.ip);
    expect(new Set(ips).size).toBe(ips.length);
  });

  it("serializes concurrent allocations", async () => {
    const s = await NetworkStore.open(tmp());
    await s.addNetwork({ ...NET, subnet: "10.50.0.0/24" });
    const got = await Promise.all(
      Array.from({ length: 30 }, (_, i) => s.allocate(NET.id, ep(`c${i}`), macFromIp)),
    );
    expect(new Set(got.map((g) => g.ip)).size).toBe(30);
  });

  it("checks requested addresses", async () => {
    const s = await NetworkStore.open(tmp());
    await s.addNetwork(NET);
    await expect(s.allocate(NET.id, ep("a", "10.50.0.1"), macFromIp)).rejects.toThrow(/in use/);
    await expect(s.allocate(NET.id, ep("a", "10.50.0.7"), macFromIp)).rejects.toThrow(
      /not a usable address/,
    );
    expect((await s.allocate(NET.id, ep("a", "10.50.0.5"), macFromIp)).ip).toBe("10.50.0.5");
    await expect(s.allocate(NET.id, ep("b", "10.50.0.5"), macFromIp)).rejects.toThrow(/in use/);
    await expect(s.removeNetwork(NET.id)).rejects.toThrow(/active endpoints/);
  });

  it("refuses clashing published ports", async () => {
    const s = await NetworkStore.open(tmp());
    const b = {
      containerId: "a",
      networkId: NET.id,
      hostIp: "0.0.0.0",
      hostPort: 8080,
      containerIp: "10.50.0.2",
      containerPort: 80,
      protocol: "tcp" as const,
    };
    await s.addPorts([b]);
    await expect(s.addPorts([{ ...b, containerId: "b", hostIp: "127.0.0.1" }])).rejects.toThrow(
      /already published by container a/,
    );
    await s.addPorts([{ ...b, containerId: "b", protocol: "udp" }]);
    expect(portsClash({ ...b, hostIp: "10.0.0.1" }, { ...b, hostIp: "10.0.0.2" })).toBe(false);
    expect((await s.removePorts("a")).length).toBe(1);
    expect(s.ports()).toHaveLength(1);
  });
});
