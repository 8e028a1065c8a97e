/**
 * The budget webhook's SSRF guard: which addresses are refused (with and without the server's
 * BERTH_WEBHOOK_ALLOW_PRIVATE), and real POSTs to loopback receivers the test starts — allowed
 * with the setting, redirects not followed, the checked address used for the connection.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import {
  checkWebhookTarget,
  classifyAddress,
  parseV6,
  postWebhook,
  refusalOf,
  type WebhookResolver,
} from "./webhook-address";

describe("classifyAddress / refusalOf", () => {
  // [address, class, refused by default, refused with BERTH_WEBHOOK_ALLOW_PRIVATE=1]
  const table: [string, string, boolean, boolean][] = [
    ["93.184.216.34", "public", false, false],
    ["2606:2800:220:1:248:1893:25c8:1946", "public", false, false],
    ["127.0.0.1", "loopback", true, false],
    ["127.255.0.9", "loopback", true, false],
    ["::1", "loopback", true, false],
    ["0.0.0.0", "unspecified", true, true],
    ["0.1.2.3", "unspecified", true, true],
    ["::", "unspecified", true, true],
    ["169.254.169.254", "link-local", true, true],
    ["fe80::1", "link-local", true, true],
    ["fe80::1%eth0", "link-local", true, true],
    ["224.0.0.1", "multicast", true, true],
    ["ff02::1", "multicast", true, true],
    ["255.255.255.255", "reserved", true, true],
    ["192.0.2.10", "reserved", true, true],
    ["10.1.2.3", "private", true, false],
    ["172.16.0.1", "private", true, false],
    ["172.31.255.255", "private", true, false],
    ["172.32.0.1", "public", false, false],
    ["192.168.1.1", "private", true, false],
    ["100.64.0.1", "private", true, false],
    ["fd00::1", "private", true, false],
    ["fc12:3456::1", "private", true, false],
    // IPv4 inside IPv6 is judged by the IPv4 address.
    ["::ffff:127.0.0.1", "loopback", true, false],
    ["::ffff:7f00:1", "loopback", true, false],
    ["::ffff:169.254.169.254", "link-local", true, true],
    ["::ffff:10.0.0.1", "private", true, false],
    ["::ffff:8.8.8.8", "public", false, false],
    ["::127.0.0.1", "loopback", true, false],
    ["64:ff9b::a9fe:a9fe", "link-local", true, true],
    ["2002:a9fe:a9fe::1", "link-local", true, true],
    ["2002:0808:0808::1", "public", false, false],
  ];
  it.each(table)("%s is %s", (ip, cls, refusedByDefault, refusedWhenAllowed) => {
    expect(classifyAddress(ip)).toBe(cls);
    expect(refusalOf(ip, false) !== null).toBe(refusedByDefault);
    expect(refusalOf(ip, true) !== null).toBe(refusedWhenAllowed);
  });

  it("parses IPv6 text forms to the same bytes", () => {
    expect(parseV6("::ffff:127.0.0.1")).toEqual(parseV6("0:0:0:0:0:ffff:7f00:0001"));
    expect(parseV6("1::")).toEqual([0, 1, ...new Array<number>(14).fill(0)]);
    expect(parseV6("not-an-address")).toBeNull();
  });

  it("says how to allow a private target, and never for link-local", () => {
    expect(refusalOf("10.0.0.1", false)).toMatch(/private address.*BERTH_WEBHOOK_ALLOW_PRIVATE=1/);
    expect(refusalOf("169.254.169.254", false)).not.toMatch(/BERTH_WEBHOOK_ALLOW_PRIVATE/);
  });
});

describe("checkWebhookTarget", () => {
  const off = { allowPrivate: false };
  it.each([
    ["ftp://example.com/x", /http:\/\/ or https:\/\//],
    ["http://user:pw@example.com/", /user or password/],
    ["http://127.0.0.1:9/hook", /127\.0\.0\.1 is a loopback address/],
    ["http://[::ffff:169.254.169.254]/latest", /link-local/],
    ["http://169.254.169.254/latest/meta-data", /link-local/],
    ["http://0.0.0.0:8080/", /unspecified/],
    ["http://localhost:8080/", /loopback/],
  ])("refuses %s", async (url, message) => {
    await expect(checkWebhookTarget(url, off)).rejects.toMatchObject({
      kind: "invalid_input",
      message: expect.stringMatching(message) as unknown,
    });
  });

  it("refuses a name when any of its addresses is refused", async () => {
    const resolver: WebhookResolver = () =>
      Promise.resolve([
        { address: "93.184.216.34", family: 4 },
        { address: "10.0.0.5", family: 4 },
      ]);
    await expect(
      checkWebhookTarget("https://hooks.example/x", { allowPrivate: false, resolver }),
    ).rejects.toMatchObject({ message: expect.stringMatching(/10\.0\.0\.5/) as unknown });
  });

  it("says so when the host does not resolve", async () => {
    const resolver: WebhookResolver = () => Promise.reject(new Error("ENOTFOUND"));
    await expect(
      checkWebhookTarget("https://nowhere.example/", { allowPrivate: false, resolver }),
    ).rejects.toMatchObject({ message: expect.stringMatching(/does not resolve/) as unknown });
  });
});

describe("postWebhook to loopback receivers", () => {
  const servers: Server[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => new Promise<void>((r) => s.close(() => r()))));
  });
  async function receiver(
    handle: (req: IncomingMessage, body: string, res: ServerResponse) => void,
  ): Promise<number> {
    const s = createServer((req, res) => {
      let b = "";
      req.on("data", (c: Buffer) => (b += c.toString()));
      req.on("end", () => handle(req, b, res));
    });
    servers.push(s);
    await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
    return (s.address() as AddressInfo).port;
  }

  it("is refused without the setting and delivered with it", async () => {
    const got: unknown[] = [];
    const port = await receiver((_req, body, res) => {
      got.push(JSON.parse(body));
      res.writeHead(204).end();
    });
    const url = `http://127.0.0.1:${port}/hook`;
    expect(await postWebhook(url, { n: 1 }, { allowPrivate: false })).toMatch(
      /^error: refused: .*loopback/,
    );
    expect(got).toEqual([]);
    expect(await postWebhook(url, { n: 2 }, { allowPrivate: true })).toBe("ok");
    expect(got).toEqual([{ n: 2 }]);
  });

  it("does not follow a redirect", async () => {
    let followed = 0;
    const target = await receiver((_req, _b, res) => {
      followed++;
      res.writeHead(204).end();
    });
    const port = await receiver((_req, _b, res) => {
      res.writeHead(307, { location: `http://127.0.0.1:${target}/` }).end();
    });
    expect(await postWebhook(`http://127.0.0.1:${port}/`, {}, { allowPrivate: true })).toBe(
      "error: HTTP 307 (redirects are not followed)",
    );
    expect(followed).toBe(0);
  });

  it("connects to the address it checked, not to a second DNS answer", async () => {
    const hosts: (string | undefined)[] = [];
    const port = await receiver((req, _b, res) => {
      hosts.push(req.headers.host);
      res.writeHead(200).end("fine");
    });
    let lookups = 0;
    const resolver: WebhookResolver = () => {
      lookups++;
      return Promise.resolve([{ address: "127.0.0.1", family: 4 }]);
    };
    // "hook.invalid" resolves nowhere else: only the pinned address can be reached.
    expect(
      await postWebhook(`http://hook.invalid:${port}/x`, {}, { allowPrivate: true, resolver }),
    ).toBe("ok");
    expect(lookups).toBe(1);
    expect(hosts).toEqual([`hook.invalid:${port}`]);
  });

  it("gives up after the timeout and reads a bounded answer", async () => {
    const silent = await receiver(() => undefined); // never answers
    expect(
      await postWebhook(
        `http://127.0.0.1:${silent}/`,
        {},
        { allowPrivate: true },
        { timeoutMs: 200 },
      ),
    ).toBe("error: no answer within 200 ms");
    // A name that never resolves is bound by the same deadline.
    const stuck = () => new Promise<never>(() => undefined);
    expect(
      await postWebhook(
        "http://hook.invalid/",
        {},
        { allowPrivate: false, resolver: stuck },
        { timeoutMs: 200 },
      ),
    ).toBe("error: no answer within 200 ms");
    const big = await receiver((_req, _b, res) => {
      res.writeHead(500);
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      const pump = () => {
        while (res.write(chunk));
        res.once("drain", pump);
      };
      res.on("error", () => undefined);
      pump();
    });
    expect(
      await postWebhook(
        `http://127.0.0.1:${big}/`,
        {},
        { allowPrivate: true },
        { timeoutMs: 5000, maxResponseBytes: 1024 },
      ),
    ).toBe("error: HTTP 500");
  });
});
