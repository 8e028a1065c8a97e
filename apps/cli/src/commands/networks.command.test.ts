/**
 * `berth network …`, and ps' PORTS / inspect's NetworkSettings, in-process against a tiny tRPC
 * server on 127.0.0.1 that implements only what these verbs call, with the real @berth/core
 * schemas (the server's networks.* are tested in apps/web, the agent's on the real kernel).
 */
import {
  ContainerNetworkSchema,
  DomainError,
  Ipv4AddressSchema,
  NetworkCreateOptionsSchema,
} from "@berth/core";
import { TRPCError } from "@trpc/server";
import { beforeEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { runBerth, testTrpc, trpcServer, useTestServer } from "../testing/cli-harness";

const ID = "f".repeat(64);
const CID = "a".repeat(64);
const net = {
  nodeId: "n1",
  nodeName: "node-1",
  id: ID,
  name: "front",
  teamId: "t1",
  subnet: "172.18.0.0/16",
  gateway: "172.18.0.1",
  bridge: "berth-ffffffff",
  icc: false,
  masquerade: true,
  internal: false,
  isDefault: false,
  createdAt: 0,
  containers: [{ containerId: CID, ip: "172.18.0.2", mac: "02:42:ac:12:00:02" }],
};
const container = {
  id: CID,
  shortId: CID.slice(0, 12),
  name: "web",
  image: "busybox",
  command: null,
  state: "running",
  exitCode: null,
  oomKilled: false,
  error: null,
  nodeId: "n1",
  nodeName: "node-1",
  teamId: "t1",
  createdBy: null,
  createdAt: 0,
  startedAt: 0,
  finishedAt: null,
  autoRemove: false,
  limits: {},
  restartPolicy: { name: "no", maximumRetryCount: 0 },
  logConfig: null,
  restartCount: 0,
  health: null,
};
const network = ContainerNetworkSchema.parse({
  mode: "front",
  endpoints: [
    {
      network: "front",
      networkId: ID,
      ifName: "eth0",
      ip: "172.18.0.2",
      prefixLen: 16,
      mac: "02:42:ac:12:00:02",
      gateway: "172.18.0.1",
      aliases: ["web"],
    },
  ],
  ports: [{ hostIp: "0.0.0.0", hostPort: 8080, containerPort: 80, protocol: "tcp" }],
});

function startServer() {
  const { t, p, calls } = testTrpc();
  const OnNode = { node: z.string().optional() };
  const router = t.router({
    networks: t.router({
      create: p
        .input(NetworkCreateOptionsSchema.extend(OnNode))
        .mutation(({ input }) => ({ ...net, name: input.name })),
      list: p.input(z.object(OnNode).optional()).query(() => [net]),
      inspect: p.input(z.object({ ref: z.string(), ...OnNode })).query(({ input }) => {
        if (input.ref !== "front")
          throw new TRPCError({
            code: "NOT_FOUND",
            message: `network ${input.ref} not found`,
            cause: new DomainError("not_found", "x"),
          });
        return net;
      }),
      remove: p.input(z.object({ ref: z.string(), ...OnNode })).mutation(() => ({ removed: true })),
      connect: p
        .input(
          z.object({
            ref: z.string(),
            container: z.string(),
            aliases: z.array(z.string()).optional(),
            ip: Ipv4AddressSchema.optional(),
          }),
        )
        .mutation(() => container),
      disconnect: p
        .input(z.object({ ref: z.string(), container: z.string() }))
        .mutation(() => container),
      containers: p
        .input(z.object({ ref: z.string().optional() }).optional())
        .query(() => [{ containerId: CID, network }]),
    }),
    containers: t.router({
      list: p.input(z.object({ all: z.boolean() })).query(() => [container]),
      get: p.input(z.object({ ref: z.string() })).query(() => container),
    }),
  });
  return { server: trpcServer(router), calls };
}

describe("berth network verbs against a tRPC server on 127.0.0.1", () => {
  const srv = startServer();
  const env = useTestServer(srv.server, "berth-cli-net-");
  beforeEach(() => {
    srv.calls.length = 0;
  });
  const berth = (argv: string[]) => runBerth(argv, env);

  it("create sends the options and prints the id; ls prints docker's table", async () => {
    const r = await berth([
      "network",
      "create",
      "--subnet",
      "10.9.0.0/24",
      "--icc=false",
      "--no-masquerade",
      "--internal",
      "front",
    ]);
    expect(r).toMatchObject({ code: 0, stdout: `${ID}\n` });
    expect(srv.calls).toEqual([
      {
        path: "networks.create",
        input: {
          name: "front",
          subnet: "10.9.0.0/24",
          icc: false,
          masquerade: false,
          internal: true,
        },
      },
    ]);
    const ls = await berth(["network", "ls"]);
    expect(ls.stdout.split("\n")[0]).toMatch(
      /^NETWORK ID\s+NAME\s+DRIVER\s+SCOPE\s+SUBNET\s+NODE$/,
    );
    expect(ls.stdout.split("\n")[1]).toMatch(
      new RegExp(
        `^${ID.slice(0, 12)}\\s+front\\s+bridge\\s+local\\s+172\\.18\\.0\\.0/16\\s+node-1$`,
      ),
    );
  });

  it("inspect prints docker's shape; an unknown network fails with exit 1", async () => {
    const r = await berth(["network", "inspect", "front"]);
    const [v] = JSON.parse(r.stdout) as Record<string, unknown>[];
    expect(v).toMatchObject({
      Name: "front",
      Id: ID,
      Driver: "bridge",
      IPAM: { Config: [{ Subnet: "172.18.0.0/16", Gateway: "172.18.0.1" }] },
      Containers: { [CID]: { IPv4Address: "172.18.0.2" } },
      Options: { "com.docker.network.bridge.enable_icc": "false" },
    });
    const missing = await berth(["network", "inspect", "nope"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("network nope not found");
  });

  it("rm, connect and disconnect send what docker's verbs say", async () => {
    expect((await berth(["network", "rm", "front"])).stdout).toBe("front\n");
    await berth(["network", "connect", "--alias", "api", "--ip", "172.18.0.9", "front", "web"]);
    await berth(["network", "disconnect", "front", "web"]);
    expect(srv.calls.map((c) => [c.path, c.input])).toEqual([
      ["networks.remove", { ref: "front" }],
      ["networks.connect", { ref: "front", container: "web", aliases: ["api"], ip: "172.18.0.9" }],
      ["networks.disconnect", { ref: "front", container: "web" }],
    ]);
  });

  it("ps shows PORTS like docker; inspect shows NetworkSettings", async () => {
    const ps = await berth(["ps"]);
    expect(ps.stdout.split("\n")[1]).toContain("0.0.0.0:8080->80/tcp");
    const r = await berth(["inspect", "web"]);
    const [v] = JSON.parse(r.stdout) as Record<string, unknown>[];
    expect(v).toMatchObject({
      NetworkSettings: {
        NetworkMode: "front",
        IPAddress: "172.18.0.2",
        Gateway: "172.18.0.1",
        Ports: { "80/tcp": [{ HostIp: "0.0.0.0", HostPort: "8080" }] },
        Networks: { front: { IPAddress: "172.18.0.2", Interface: "eth0" } },
      },
    });
  });
});
