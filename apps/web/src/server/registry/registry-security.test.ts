/**
 * Security regressions at the registry, over real HTTP on 127.0.0.1: an API token's scopes bound
 * what the token endpoint grants (administrators included), password guessing at /v2/token is
 * behind the sign-in rate limits, and a node pulls only for teams allowed to use it (pools).
 */
import { newId, newSecret } from "@berth/core";
import { eq, nodes, poolGrants, pools, teams } from "@berth/db";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { sha256Hex } from "../security";
import { addUser, ADMIN_PASSWORD, createFixture, type Fixture } from "../testing/fixtures";
import { fetchToken, startRegistryServer, type RegistryServer } from "../testing/registry-server";

let f: Fixture;
let srv: RegistryServer;

beforeEach(async () => {
  f = await createFixture();
  srv = await startRegistryServer(f);
});
afterEach(async () => {
  await srv.close();
  await f.close();
});

function accessOf(token: string): unknown {
  return (
    JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString("utf8")) as {
      access: unknown;
    }
  ).access;
}

describe("API token scopes at the registry", () => {
  it("a scoped token of a team owner gets only what its scopes allow", async () => {
    const uid = await addUser(f, "bob", { role: "owner" });
    const ro = f.services.auth.createApiToken(uid, { name: "ro", scopes: ["container.read"] });
    const t = await fetchToken(srv.url, { user: "bob", password: ro.token }, [
      "repository:default/app:pull,push,delete",
    ]);
    expect(t.status).toBe(200);
    expect(accessOf(t.token!)).toEqual([]);
    const pull = f.services.auth.createApiToken(uid, { name: "p", scopes: ["registry.pull"] });
    const t2 = await fetchToken(srv.url, { user: "bob", password: pull.token }, [
      "repository:default/app:pull,push,delete",
    ]);
    expect(accessOf(t2.token!)).toEqual([
      { type: "repository", name: "default/app", actions: ["pull"] },
    ]);
    // Used directly as Bearer, the scoped token may not push either (DENIED, not a token retry).
    const res = await fetch(`${srv.url}/v2/default/app/blobs/uploads/`, {
      method: "POST",
      headers: { authorization: `Bearer ${pull.token}` },
    });
    expect(res.status).toBe(403);
  });

  it("an administrator's scoped token is bounded by its scopes too", async () => {
    const tok = f.services.auth.createApiToken(f.adminId, {
      name: "pusher",
      scopes: ["registry.pull", "registry.push"],
    });
    const t = await fetchToken(srv.url, { user: "admin", password: tok.token }, [
      "repository:default/app:pull,push,delete",
      "repository:toplevel:pull,push,delete",
    ]);
    expect(accessOf(t.token!)).toEqual([
      { type: "repository", name: "default/app", actions: ["pull", "push"] },
      { type: "repository", name: "toplevel", actions: ["pull", "push"] },
    ]);
    const unscoped = f.services.auth.createApiToken(f.adminId, "all");
    const t2 = await fetchToken(srv.url, { user: "admin", password: unscoped.token }, [
      "repository:default/app:pull,push,delete",
    ]);
    expect(accessOf(t2.token!)).toEqual([
      { type: "repository", name: "default/app", actions: ["pull", "push", "delete"] },
    ]);
  });
});

describe("password guessing at /v2/token", () => {
  it("is behind the sign-in limiter: after 5 failures the account waits, even with the right password", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++)
      statuses.push(
        (await fetchToken(srv.url, { user: "admin", password: `wrong-${i}` }, [])).status,
      );
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429]);
    const right = await fetchToken(srv.url, { user: "admin", password: ADMIN_PASSWORD }, []);
    expect(right.status).toBe(429);
    expect(JSON.stringify(right.body)).toContain("too many failed sign-ins");
    // The dashboard's sign-in shares the same limits.
    await expect(f.services.auth.login("admin", ADMIN_PASSWORD, "127.0.0.1")).rejects.toThrow(
      /too many failed sign-ins/,
    );
  });

  it("a right password still works and resets the account's failures", async () => {
    for (let i = 0; i < 4; i++)
      expect((await fetchToken(srv.url, { user: "admin", password: `x${i}` }, [])).status).toBe(
        401,
      );
    expect(
      (await fetchToken(srv.url, { user: "admin", password: ADMIN_PASSWORD }, [])).status,
    ).toBe(200);
    for (let i = 0; i < 4; i++)
      expect((await fetchToken(srv.url, { user: "admin", password: `y${i}` }, [])).status).toBe(
        401,
      );
  });
});

describe("node credentials and pools", () => {
  it("a node in a pool pulls only for teams the pool is granted to", async () => {
    const secret = newSecret();
    const nodeId = newId();
    const poolId = newId();
    f.db.insert(pools).values({ id: poolId, name: "gpu" }).run();
    f.db
      .insert(nodes)
      .values({
        id: nodeId,
        name: "node-p",
        credentialHash: sha256Hex(secret),
        status: "online",
        poolId,
      })
      .run();
    const otherTeamId = newId();
    f.db.insert(teams).values({ id: otherTeamId, name: "other" }).run();
    const ask = async (account: string) => {
      const q = new URLSearchParams({ service: "berth", account });
      q.append("scope", "repository:other/app:pull");
      const res = await fetch(`${srv.url}/v2/token?${q}`, {
        headers: {
          authorization: `Basic ${Buffer.from(`node/${nodeId}:${nodeId}.${secret}`).toString("base64")}`,
        },
      });
      return { status: res.status, body: (await res.json()) as { token?: string } };
    };
    const refused = await ask(otherTeamId);
    expect(refused.status).toBe(401);
    expect(JSON.stringify(refused.body)).toContain("not granted to your team");
    f.db.insert(poolGrants).values({ poolId, teamId: otherTeamId }).run();
    const granted = await ask(otherTeamId);
    expect(granted.status).toBe(200);
    expect(accessOf(granted.body.token!)).toEqual([
      { type: "repository", name: "other/app", actions: ["pull"] },
    ]);
    // The token stops working once the grant is gone (re-checked at each request).
    f.db.delete(poolGrants).where(eq(poolGrants.teamId, otherTeamId)).run();
    const res = await fetch(`${srv.url}/v2/other/app/tags/list`, {
      headers: { authorization: `Bearer ${granted.body.token!}` },
    });
    expect(res.status).toBe(401);
  });
});
