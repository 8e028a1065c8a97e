import { describe, expect, it } from "vitest";
import { CliError, UsageError } from "../errors";
import { parseAddHost } from "./network-flags";
import { parseRun } from "../testing/parse-run";

describe("berth run network flags", () => {
  it("puts -p, -P, --network/--net, --network-alias, --dns and --add-host into the spec", () => {
    const input = parseRun([
      "-p",
      "8080:80",
      "--publish",
      "127.0.0.1:5353:53/udp",
      "-P",
      "--net",
      "front",
      "--network-alias",
      "web",
      "--dns",
      "1.1.1.1",
      "--add-host",
      "db.local:10.0.0.5",
      "busybox",
    ]);
    expect(input.spec).toMatchObject({
      ports: ["8080:80", "127.0.0.1:5353:53/udp"],
      publishAll: true,
      network: "front",
      networkAliases: ["web"],
      dns: ["1.1.1.1"],
      addHosts: [{ host: "db.local", ip: "10.0.0.5" }],
    });
    expect(parseRun(["--network", "container:web", "busybox"]).spec.network).toBe("container:web");
    const plain = parseRun(["busybox"]).spec;
    expect(plain.network).toBeUndefined();
    expect(plain.ports).toBeUndefined();
  });

  it("refuses bad values with the flag's name", () => {
    expect(() => parseRun(["-p", "80:80:80:80", "busybox"])).toThrow(/-p, --publish/);
    expect(() => parseRun(["--dns", "resolver", "busybox"])).toThrow(/--dns/);
    expect(() => parseRun(["--network", "a b", "busybox"])).toThrow(CliError);
    expect(() => parseAddHost("nohost")).toThrow(UsageError);
    expect(() => parseRun(["--add-host", "db:999.1.1.1", "busybox"])).toThrow(/--add-host/);
    expect(() => parseRun(["--network", "a", "--net", "b", "busybox"])).toThrow(
      /--network and --net/,
    );
  });
});
