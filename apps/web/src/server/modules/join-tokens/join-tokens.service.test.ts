import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { joinTokens, nodes } from "@berth/db";
import { authenticateNode, joinNode } from "../../agents/node-auth";
import { sha256Hex } from "../../security";
import { createFixture, type Fixture } from "../../testing/fixtures";
import { JoinTokensService } from "./join-tokens.service";

const SERVER_ID = "testserverid2345678901234a";

describe("join tokens", () => {
  let f: Fixture;
  beforeEach(async () => {
    f = await createFixture();
  });
  afterEach(async () => {
    await f.close();
  });

  it("creates a hashed token with the agent command line", () => {
    const t = f.services.joinTokens.create(f.adminId, 3600);
    expect(t.command).toBe(`berth-agent --server http://127.0.0.1:9 --join-token ${t.token}`);
    const row = f.db.select().from(joinTokens).get()!;
    expect(row.tokenHash).toBe(sha256Hex(t.token));
    expect(f.services.joinTokens.list()).toEqual([
      expect.objectContaining({ id: t.id, status: "active", usedAt: null }),
    ]);
  });

  it("is single-use: the second join is refused and creates no node", () => {
    const { token } = f.services.joinTokens.create(f.adminId, 3600);
    const joined = joinNode(f.db, SERVER_ID, { token, hostname: "host-a" });
    expect(joined).toMatchObject({ nodeName: "host-a", serverId: SERVER_ID });
    expect(joined.credential.startsWith(`${joined.nodeId}.`)).toBe(true);
    expect(() => joinNode(f.db, SERVER_ID, { token, hostname: "host-b" })).toThrow(
      "join token already used",
    );
    expect(f.db.select().from(nodes).all()).toHaveLength(1);
    expect(f.services.joinTokens.list()[0]).toMatchObject({
      status: "used",
      nodeId: joined.nodeId,
    });
    // the credential authenticates, a wrong secret does not
    expect(authenticateNode(f.db, `Bearer ${joined.credential}`)?.id).toBe(joined.nodeId);
    expect(authenticateNode(f.db, `Bearer ${joined.nodeId}.${"A".repeat(43)}`)).toBeNull();
    expect(authenticateNode(f.db, undefined)).toBeNull();
  });

  it("refuses expired and unknown tokens", () => {
    let now = new Date("2026-01-01T00:00:00Z");
    const svc = new JoinTokensService(f.db, "http://x", () => now);
    const { token } = svc.create(null, 60);
    now = new Date(now.getTime() + 61_000);
    expect(svc.list()[0]!.status).toBe("expired");
    expect(() => joinNode(f.db, SERVER_ID, { token, hostname: "h" }, now)).toThrow(
      "join token expired",
    );
    expect(() =>
      joinNode(f.db, SERVER_ID, { token: "bjt_unknown-token-value", hostname: "h" }),
    ).toThrow("unknown join token");
    expect(() => joinNode(f.db, SERVER_ID, { token: "short", hostname: "h" })).toThrow(
      /invalid join request/,
    );
    expect(f.db.select().from(nodes).all()).toHaveLength(0);
  });

  it("suffixes the node name when the hostname is taken", () => {
    const names = [1, 2, 3].map(
      () =>
        joinNode(f.db, SERVER_ID, {
          token: f.services.joinTokens.create(null, 3600).token,
          hostname: "box",
        }).nodeName,
    );
    expect(names).toEqual(["box", "box-2", "box-3"]);
  });
});
