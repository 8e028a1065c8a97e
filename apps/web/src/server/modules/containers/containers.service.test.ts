import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ContainerSpecSchema } from "@berth/core";
import { containers } from "@berth/db";
import { createFixture, insertContainer, insertNode, type Fixture } from "../../testing/fixtures";
import { generateContainerName } from "./container-names";
import { assertSecurityAllowed, type Actor } from "./containers.service";

describe("ContainersService (no agent involved)", () => {
  let f: Fixture;
  let actor: Actor;
  let nodeId: string;
  beforeEach(async () => {
    f = await createFixture();
    actor = { id: f.adminId, username: "admin", isAdmin: true, teamId: f.defaultTeamId };
    nodeId = insertNode(f, "node-1");
  });
  afterEach(async () => {
    await f.close();
  });

  it("resolves a container by full id, unique prefix of at least 3 characters, or name", () => {
    const a = insertContainer(f, nodeId, "web", { id: `abc1${"0".repeat(60)}` });
    const b = insertContainer(f, nodeId, "db", { id: `abc2${"0".repeat(60)}` });
    const svc = f.services.containers;
    expect(svc.resolve(actor, a).name).toBe("web");
    expect(svc.resolve(actor, "db").id).toBe(b);
    expect(svc.resolve(actor, "abc1").id).toBe(a);
    expect(() => svc.resolve(actor, "abc")).toThrow(/matches several containers/);
    expect(() => svc.resolve(actor, "ab")).toThrow(
      /no container "ab" \(id prefixes need at least 3 characters\)/,
    );
    expect(() => svc.resolve(actor, "nope")).toThrow(/no container "nope"/);
    try {
      svc.resolve(actor, "nope");
    } catch (e) {
      expect(e).toMatchObject({ kind: "not_found" });
    }
  });

  it("a name wins over an id prefix that looks the same", () => {
    insertContainer(f, nodeId, "abc", { id: `abc9${"1".repeat(60)}` });
    const named = insertContainer(f, nodeId, "abcd", { id: "f".repeat(64) });
    expect(f.services.containers.resolve(actor, "abcd").id).toBe(named);
  });

  it("refuses a container name in use with a conflict naming the holder, and creates nothing", async () => {
    const existing = insertContainer(f, nodeId, "web");
    const spec = ContainerSpecSchema.parse({ image: "busybox" });
    await expect(
      f.services.containers.run(actor, { name: "web", spec, autoRemove: false }),
    ).rejects.toMatchObject({
      kind: "conflict",
      message: `the container name "web" is already in use by container ${existing.slice(0, 12)}`,
    });
    expect(f.db.select().from(containers).all()).toHaveLength(1);
  });

  it("says how to fix it when no node is online", async () => {
    await expect(
      f.services.containers.run(actor, {
        spec: ContainerSpecSchema.parse({ image: "busybox" }),
        autoRemove: false,
      }),
    ).rejects.toThrow("no node is online: join one with `berth join-token create`");
    expect(f.db.select().from(containers).all()).toHaveLength(0);
  });

  it("lists newest first, running only unless all, scoped to the team for non-admins", () => {
    insertContainer(f, nodeId, "old", { state: "exited", createdAt: new Date(1000) });
    insertContainer(f, nodeId, "new", { state: "running", createdAt: new Date(2000) });
    const svc = f.services.containers;
    expect(svc.list(actor, { all: true }).map((c) => c.name)).toEqual(["new", "old"]);
    expect(svc.list(actor, { all: false }).map((c) => c.name)).toEqual(["new"]);
    const outsider: Actor = { id: "x", username: "x", isAdmin: false, teamId: "other-team" };
    expect(svc.list(outsider, { all: true })).toEqual([]);
    expect(() => svc.resolve(outsider, "new")).toThrow(/no container/);
    const view = svc.get(actor, "new");
    expect(view).toMatchObject({
      name: "new",
      nodeName: "node-1",
      shortId: view.id.slice(0, 12),
      command: null,
      limits: {},
    });
  });

  it("generates docker-style names", () => {
    const seq = [0, 0.999];
    expect(generateContainerName(() => seq.shift()!)).toBe("admiring_yalow");
    expect(generateContainerName()).toMatch(/^[a-z]+_[a-z]+$/);
  });
});

describe("security choices that weaken the host", () => {
  const base = { id: "u1", teamId: "t1", role: "operator" } as const;
  it("refuses privileged and unconfined seccomp to non-admins, allows them to admins", () => {
    const privileged = ContainerSpecSchema.parse({
      image: "busybox",
      security: { privileged: true },
    });
    const unconfined = ContainerSpecSchema.parse({
      image: "busybox",
      security: { seccomp: "unconfined" },
    });
    const capAdd = ContainerSpecSchema.parse({
      image: "busybox",
      security: { capAdd: ["NET_ADMIN"] },
    });
    const op = { ...base, isAdmin: false } as unknown as Actor;
    const admin = { ...base, isAdmin: true } as unknown as Actor;
    expect(() => assertSecurityAllowed(op, privileged)).toThrow(
      /only administrators may run privileged/,
    );
    expect(() => assertSecurityAllowed(op, unconfined)).toThrow(/without seccomp/);
    expect(() => assertSecurityAllowed(op, capAdd)).not.toThrow();
    expect(() => assertSecurityAllowed(admin, privileged)).not.toThrow();
    expect(() => assertSecurityAllowed(admin, unconfined)).not.toThrow();
  });

  it("refuses host devices (--device) to non-admins, allows them to admins", () => {
    const device = ContainerSpecSchema.parse({
      image: "busybox",
      devices: [{ hostPath: "/dev/null", containerPath: "/dev/mynull" }],
    });
    const op = { ...base, isAdmin: false } as unknown as Actor;
    const admin = { ...base, isAdmin: true } as unknown as Actor;
    expect(() => assertSecurityAllowed(op, device)).toThrow(
      /only administrators may give containers host devices/,
    );
    expect(() => assertSecurityAllowed(admin, device)).not.toThrow();
  });
});
