import { describe, expect, it } from "vitest";
import type { DomainError } from "@berth/core";
import { parsePublish } from "./ports";

const one = (
  hostIp: string,
  hostPort: [number, number] | null,
  containerPort: number,
  protocol = "tcp",
) => ({
  hostIp,
  hostPort: hostPort && { start: hostPort[0], end: hostPort[1] },
  containerPort,
  protocol,
});

describe("parsePublish (docker's -p syntax)", () => {
  it("parses the single-port forms", () => {
    expect(parsePublish("80")).toEqual([one("0.0.0.0", null, 80)]);
    expect(parsePublish("8080:80")).toEqual([one("0.0.0.0", [8080, 8080], 80)]);
    expect(parsePublish("127.0.0.1:8080:80")).toEqual([one("127.0.0.1", [8080, 8080], 80)]);
    expect(parsePublish("127.0.0.1::80")).toEqual([one("127.0.0.1", null, 80)]);
    expect(parsePublish("53:53/udp")).toEqual([one("0.0.0.0", [53, 53], 53, "udp")]);
    expect(parsePublish(" 8080:80/TCP ")).toEqual([one("0.0.0.0", [8080, 8080], 80)]);
  });

  it("expands ranges", () => {
    expect(parsePublish("8000-8001:80-81")).toEqual([
      one("0.0.0.0", [8000, 8000], 80),
      one("0.0.0.0", [8001, 8001], 81),
    ]);
    expect(parsePublish("10.0.0.1:8000-8001:80-81/udp")).toEqual([
      one("10.0.0.1", [8000, 8000], 80, "udp"),
      one("10.0.0.1", [8001, 8001], 81, "udp"),
    ]);
    expect(parsePublish("80-81")).toEqual([one("0.0.0.0", null, 80), one("0.0.0.0", null, 81)]);
    // a host range for one container port: the first free port of the range
    expect(parsePublish("8000-8010:80")).toEqual([one("0.0.0.0", [8000, 8010], 80)]);
  });

  it.each([
    ["", /empty/],
    ["0", /between 1 and 65535/],
    ["70000:80", /between 1 and 65535/],
    ["80:0", /between 1 and 65535/],
    ["8001-8000:80", /end < start/],
    ["8000-8002:80-81", /as long as/],
    ["80/sctp", /protocol "sctp"/],
    ["abc", /container port "abc"/],
    ["1.2.3:80:80", /host IP "1.2.3"/],
    ["[::1]:80:80", /IPv6/],
    ["1:2:3:4", /expected/],
  ])("refuses %j", (spec, msg) => {
    let err: unknown;
    try {
      parsePublish(spec);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(msg);
    expect((err as DomainError).kind).toBe("invalid_input");
  });
});
