import { describe, expect, it } from "vitest";
import { hookRules, renderTables } from "./iptables";
import { netNames } from "./names";
import type { NetworkRecord, PortBinding } from "./network-store";

const names = netNames("berth");
const net = (over: Partial<NetworkRecord>): NetworkRecord => ({
  id: "a".repeat(64),
  name: "n",
  teamId: null,
  driver: "bridge",
  subnet: "10.9.0.0/24",
  gateway: "10.9.0.1",
  bridge: "berth-aaaaaaaaa",
  icc: true,
  masquerade: true,
  internal: false,
  isDefault: false,
  createdAt: "2026-01-01T00:00:00.000Z",
  ...over,
});

describe("iptables rules", () => {
  it("names chains and interfaces after the prefix, within 15 characters", () => {
    expect(names.defaultBridge).toBe("berth0");
    expect(names.bridgeFor("0123456789abcdef")).toBe("berth-012345678");
    expect(names.newVeth()).toMatch(/^berth_[0-9a-f]{9}$/);
    expect(names.owns("berth_abc")).toBe(true);
    expect(names.owns("berthx0")).toBe(false);
    expect(() => netNames("Bad1")).toThrow(/lowercase letters/);
  });

  it("renders isolation, icc, masquerade and DNAT rules", () => {
    const ports: PortBinding[] = [
      {
        containerId: "c".repeat(64),
        networkId: "a".repeat(64),
        hostIp: "127.0.0.1",
        hostPort: 8080,
        containerIp: "10.9.0.2",
        containerPort: 80,
        protocol: "tcp",
      },
      {
        containerId: "c".repeat(64),
        networkId: "a".repeat(64),
        hostIp: "0.0.0.0",
        hostPort: 5353,
        containerIp: "10.9.0.2",
        containerPort: 53,
        protocol: "udp",
      },
    ];
    const t = renderTables(
      names,
      [
        net({}),
        net({ bridge: "berth-b", subnet: "10.8.0.0/24", icc: false, masquerade: false }),
        net({ bridge: "berth-i", internal: true }),
      ],
      ports,
    );
    expect(t.filter).toContain(":BERTH-FORWARD - [0:0]");
    expect(t.filter).toContain(
      "-A BERTH-ISOLATION-1 -i berth-aaaaaaaaa ! -o berth-aaaaaaaaa -j BERTH-ISOLATION-2",
    );
    expect(t.filter).toContain("-A BERTH-ISOLATION-2 -o berth-b -j DROP");
    expect(t.filter).toContain("-A BERTH-FORWARD -i berth-b -o berth-b -j DROP");
    expect(t.filter).toContain("-A BERTH-ISOLATION-1 ! -i berth-i -o berth-i -j DROP");
    expect(t.filter).not.toContain("-A BERTH-FORWARD -i berth-i ! -o berth-i -j ACCEPT");
    expect(t.nat).toContain(
      "-A BERTH-POSTROUTING -s 10.9.0.0/24 ! -o berth-aaaaaaaaa -j MASQUERADE",
    );
    expect(t.nat).not.toContain("-s 10.8.0.0/24");
    expect(t.nat).toContain("-A BERTH-POSTROUTING -s 127.0.0.0/8 -o berth-b -j MASQUERADE");
    expect(t.nat).toContain(
      `-A BERTH-DNAT -d 127.0.0.1/32 -p tcp -m tcp --dport 8080 -m comment --comment ${"c".repeat(64)} -j DNAT --to-destination 10.9.0.2:80`,
    );
    expect(t.nat).toContain("-A BERTH-DNAT -p udp -m udp --dport 5353 ");
    expect(t.filter.endsWith("COMMIT\n")).toBe(true);
    expect(hookRules(names)).toContainEqual([
      "nat",
      "OUTPUT",
      "-m addrtype --dst-type LOCAL -j BERTH-DNAT",
    ]);
  });
});
