import { createSocket, type Socket } from "node:dgram";
import { afterEach, describe, expect, it } from "vitest";
import {
  DnsResponder,
  buildResponse,
  parseQuery,
  renderHosts,
  renderResolvConf,
  upstreamsFromResolvConf,
} from "./dns";

/** A DNS query for `name` (type 1 = A, 28 = AAAA). */
function query(id: number, name: string, qtype = 1): Buffer {
  const labels = name
    .split(".")
    .map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)]));
  const head = Buffer.alloc(12);
  head.writeUInt16BE(id, 0);
  head.writeUInt16BE(0x0100, 2); // RD
  head.writeUInt16BE(1, 4);
  const tail = Buffer.alloc(5);
  tail.writeUInt16BE(qtype, 1);
  tail.writeUInt16BE(1, 3);
  return Buffer.concat([head, ...labels, tail]);
}

function ask(port: number, msg: Buffer, timeoutMs = 1000): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const s = createSocket("udp4");
    const t = setTimeout(() => {
      s.close();
      resolve(undefined);
    }, timeoutMs);
    s.on("message", (b) => {
      clearTimeout(t);
      s.close();
      resolve(b);
    });
    s.send(msg, port, "127.0.0.1");
  });
}

function answers(b: Buffer): string[] {
  const q = parseQuery(Buffer.concat([b.subarray(0, 2), Buffer.from([0, 0]), b.subarray(4)]))!;
  const out: string[] = [];
  let off = q.end;
  for (let i = 0; i < b.readUInt16BE(6); i++) {
    out.push([...b.subarray(off + 12, off + 16)].join("."));
    off += 16;
  }
  return out;
}

const open: { close(): unknown }[] = [];
afterEach(async () => {
  for (const o of open.splice(0)) await o.close();
});

describe("DNS responder", () => {
  const names: Record<string, string[]> = { web: ["10.1.0.2"], "db.alias": ["10.1.0.3"] };

  it("answers A records of the network's names, NODATA for other types", async () => {
    const r = await DnsResponder.listen("127.0.0.1", 0, { lookup: (n) => names[n] ?? [] });
    open.push(r);
    const a = (await ask(r.address.port, query(7, "WEB")))!;
    expect(a.readUInt16BE(0)).toBe(7);
    expect(a.readUInt16BE(2) & 0x8000).toBe(0x8000);
    expect(a.readUInt16BE(2) & 0xf).toBe(0);
    expect(answers(a)).toEqual(["10.1.0.2"]);
    expect(answers((await ask(r.address.port, query(8, "db.alias")))!)).toEqual(["10.1.0.3"]);
    const aaaa = (await ask(r.address.port, query(9, "web", 28)))!;
    expect(aaaa.readUInt16BE(2) & 0xf).toBe(0);
    expect(aaaa.readUInt16BE(6)).toBe(0);
  });

  it("refuses unknown names without upstreams and forwards them with one", async () => {
    const r = await DnsResponder.listen("127.0.0.1", 0, { lookup: () => [] });
    open.push(r);
    const refused = (await ask(r.address.port, query(1, "example.com")))!;
    expect(refused.readUInt16BE(2) & 0xf).toBe(5);

    // a real upstream on loopback answering every query with 192.0.2.7
    const up: Socket = createSocket("udp4");
    await new Promise<void>((res) => up.bind(0, "127.0.0.1", () => res()));
    open.push(up);
    up.on("message", (m, from) => {
      const q = parseQuery(m)!;
      up.send(buildResponse(m, q, 0, ["192.0.2.7"], 60), from.port, from.address);
    });
    const fwd = await DnsResponder.listen("127.0.0.1", 0, {
      lookup: () => [],
      upstreams: [{ host: "127.0.0.1", port: up.address().port }],
    });
    open.push(fwd);
    const got = (await ask(fwd.address.port, query(2, "example.com")))!;
    expect(got.readUInt16BE(0)).toBe(2);
    expect(answers(got)).toEqual(["192.0.2.7"]);
  });

  it("ignores queries from outside the network and malformed packets", async () => {
    const r = await DnsResponder.listen("127.0.0.1", 0, {
      lookup: (n) => names[n] ?? [],
      allowFrom: "10.1.0.0/24",
    });
    open.push(r);
    expect(await ask(r.address.port, query(3, "web"), 300)).toBeUndefined();
    expect(parseQuery(Buffer.from([1, 2, 3]))).toBeUndefined();
  });

  it("renders resolv.conf and hosts, and reads upstreams", () => {
    expect(renderResolvConf({ nameservers: ["10.1.0.1"], options: ["ndots:0"] })).toBe(
      "nameserver 10.1.0.1\noptions ndots:0\n",
    );
    expect(
      renderHosts({
        hostname: "web",
        addresses: ["10.1.0.2"],
        extra: [{ host: "db", ip: "10.9.9.9" }],
      }),
    ).toContain("10.1.0.2\tweb\n10.9.9.9\tdb\n");
    expect(upstreamsFromResolvConf("nameserver 127.0.0.53\nnameserver 9.9.9.9\n# x\n")).toEqual([
      { host: "9.9.9.9" },
    ]);
  });
});
