/**
 * `berth team|user|role|access` and the global `--team`, in-process against a small tRPC server
 * on 127.0.0.1 that uses the real @berth/core input schemas and records the `x-berth-team`
 * header of each call (the server side is tested in apps/web: the permission matrix and
 * teams.service.test).
 */
import {
  CreateRoleInputSchema,
  CreateTeamInputSchema,
  CreateUserInputSchema,
  DomainError,
  RunContainerInputSchema,
  SetMemberInputSchema,
  UserInputSchema,
  type EffectiveAccess,
} from "@berth/core";
import { initTRPC } from "@trpc/server";
import { createHTTPServer } from "@trpc/server/adapters/standalone";
import { z } from "zod";
import { beforeEach, describe, expect, it } from "vitest";
import { runBerth, useTestServer } from "../testing/cli-harness";

const T0 = "2026-11-27T00:00:00.000Z";

function startServer() {
  const calls: { path: string; input: unknown; team: string | null }[] = [];
  const t = initTRPC.context<{ team: string | null }>().create();
  const p = t.procedure.use(async ({ path, getRawInput, ctx, next }) => {
    calls.push({ path, input: await getRawInput(), team: ctx.team });
    return next();
  });
  const team = { id: "t1", name: "web", members: 2, createdAt: T0 };
  const access: EffectiveAccess = {
    user: { id: "u1", username: "vic", isAdmin: false, disabled: false },
    admin: [],
    teams: [
      {
        teamId: "t1",
        teamName: "web",
        role: "viewer",
        roleId: null,
        isDefault: true,
        permissions: [
          { permission: "container.read", via: "role" },
          { permission: "logs.read", via: "role" },
        ],
      },
    ],
  };
  const router = t.router({
    teams: t.router({
      list: p.query(() => [team]),
      create: p
        .input(CreateTeamInputSchema)
        .mutation(({ input }) => ({ ...team, name: input.name, members: 0 })),
      addMember: p.input(SetMemberInputSchema).mutation(({ input }) => ({
        userId: "u1",
        username: input.user,
        role: input.role,
        roleId: null,
        disabled: false,
        createdAt: T0,
      })),
      createRole: p.input(CreateRoleInputSchema).mutation(({ input }) => ({
        id: "r1",
        name: input.name,
        builtin: false,
        teamId: "t1",
        teamName: "web",
        permissions: input.permissions,
      })),
      roles: p.input(z.object({ team: z.string().optional() })).query(() => [
        {
          id: null,
          name: "viewer",
          builtin: true,
          teamId: null,
          teamName: null,
          permissions: ["container.read"],
        },
      ]),
    }),
    users: t.router({
      create: p.input(CreateUserInputSchema).mutation(({ input }) => ({
        id: "u1",
        username: input.username,
        isAdmin: input.isAdmin,
        disabled: false,
        defaultTeamId: null,
        teams: [],
        createdAt: T0,
      })),
      disable: p.input(UserInputSchema).mutation(({ input }) => ({
        id: "u1",
        username: input.user,
        isAdmin: false,
        disabled: true,
        defaultTeamId: null,
        teams: [],
        createdAt: T0,
      })),
    }),
    access: t.router({ mine: p.query(() => access) }),
    containers: t.router({
      run: p.input(RunContainerInputSchema).mutation(() => {
        throw new DomainError("unavailable", "no node is online");
      }),
    }),
    volumes: t.router({
      create: p.mutation(() => {
        throw new DomainError("unavailable", "no node is online");
      }),
    }),
    images: t.router({
      // eslint-disable-next-line require-yield -- refuses before the first chunk, like a server with no node
      pull: p.subscription(async function* () {
        throw new DomainError("unavailable", "no node is online");
      }),
    }),
  });
  const server = createHTTPServer({
    basePath: "/api/trpc/",
    router,
    createContext: ({ req }) => {
      const h = req.headers["x-berth-team"];
      return { team: typeof h === "string" ? h : null };
    },
  });
  return { server, calls };
}

describe("berth team / user / role / access", () => {
  const srv = startServer();
  const env = useTestServer(srv.server, "berth-cli-teams-");
  beforeEach(() => {
    srv.calls.length = 0;
  });

  it("team ls prints a table, -q names, --json the views; --team is sent as x-berth-team", async () => {
    const table = await runBerth(["--team", "web", "team", "ls"], env);
    expect(table.code).toBe(0);
    expect(table.stdout.split("\n")[0]).toMatch(/^TEAM ID\s+NAME\s+MEMBERS\s+CREATED/);
    expect(table.stdout).toMatch(/t1\s+web\s+2\s/);
    expect(srv.calls[0]).toMatchObject({ path: "teams.list", team: "web" });
    expect((await runBerth(["team", "ls", "-q"], env)).stdout).toBe("web\n");
    const json = await runBerth(["team", "ls", "--json"], env);
    expect(JSON.parse(json.stdout)).toEqual([{ id: "t1", name: "web", members: 2, createdAt: T0 }]);
    expect(srv.calls.at(-1)!.team).toBeNull();
  });

  it("BERTH_TEAM picks the team when --team is absent", async () => {
    await runBerth(["team", "ls", "-q"], env, {
      env: {
        BERTH_CONFIG_DIR: env.dir,
        BERTH_SERVER: env.base,
        BERTH_TOKEN: "berth_x",
        BERTH_TEAM: "ops",
      },
    });
    expect(srv.calls[0]).toMatchObject({ team: "ops" });
  });

  it("team create and add-member --role", async () => {
    expect((await runBerth(["team", "create", "ops"], env)).stdout).toBe("ops\n");
    const r = await runBerth(["team", "add-member", "web", "vic", "--role", "operator"], env);
    expect(r).toEqual({ code: 0, stdout: "vic is operator of web\n", stderr: "" });
    expect(srv.calls.map((c) => [c.path, c.input])).toEqual([
      ["teams.create", { name: "ops" }],
      ["teams.addMember", { team: "web", user: "vic", role: "operator" }],
    ]);
    // viewer by default
    await runBerth(["team", "add-member", "web", "ann"], env);
    expect(srv.calls.at(-1)!.input).toEqual({ team: "web", user: "ann", role: "viewer" });
  });

  it("user create takes the password from stdin and never from a prompt without a terminal", async () => {
    const r = await runBerth(
      ["user", "create", "vic", "--password-stdin", "--team", "web", "--role", "viewer"],
      env,
      { stdinText: "s3cret-pass\n" },
    );
    expect(r).toEqual({ code: 0, stdout: "vic\n", stderr: "" });
    expect(srv.calls[0]).toMatchObject({
      path: "users.create",
      input: {
        username: "vic",
        password: "s3cret-pass",
        isAdmin: false,
        team: "web",
        role: "viewer",
      },
    });
    const none = await runBerth(["user", "create", "bob"], env);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/no password given/);
    expect(none.stderr).toMatch(/--password-stdin/);
  });

  it("user disable reports each user", async () => {
    expect((await runBerth(["user", "disable", "vic"], env)).stdout).toBe("vic\n");
  });

  it("role create checks permission names before calling the server", async () => {
    const bad = await runBerth(
      ["role", "create", "deployer", "--permission", "containers.write"],
      env,
    );
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/unknown permission\(s\): containers.write/);
    expect(bad.stderr).toMatch(/container.create/);
    expect(srv.calls).toEqual([]);
    const ok = await runBerth(
      [
        "role",
        "create",
        "deployer",
        "--permission",
        "container.create,logs.read",
        "--permission",
        "container.read",
      ],
      env,
    );
    expect(ok).toEqual({ code: 0, stdout: "deployer\n", stderr: "" });
    expect(srv.calls[0]!.input).toEqual({
      name: "deployer",
      permissions: ["container.create", "logs.read", "container.read"],
    });
  });

  it("run --team names the owning team (x-berth-team), over the global --team", async () => {
    const r = await runBerth(["--team", "web", "run", "--team", "ops", "-d", "busybox"], env);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/no node is online/);
    expect(srv.calls).toEqual([
      {
        path: "containers.run",
        input: expect.objectContaining({ spec: expect.anything() }),
        team: "ops",
      },
    ]);
  });

  it("the other creating verbs take --team too: volume create, pull", async () => {
    await runBerth(["--team", "web", "volume", "create", "--team", "ops", "data"], env);
    await runBerth(["pull", "--team", "ops", "-q", "busybox"], env);
    await runBerth(["--team", "web", "pull", "-q", "busybox"], env);
    expect(srv.calls.map((c) => [c.path, c.team])).toEqual([
      ["volumes.create", "ops"],
      ["images.pull", "ops"],
      ["images.pull", "web"],
    ]);
  });

  it("role ls --json and access print what the server answers", async () => {
    const roles = await runBerth(["role", "ls", "--json"], env);
    expect(JSON.parse(roles.stdout)[0]).toMatchObject({ name: "viewer", builtin: true });
    const access = await runBerth(["access"], env);
    expect(access.code).toBe(0);
    expect(access.stdout).toMatch(/^vic\n/);
    expect(access.stdout).toMatch(/web \(default\)\s+viewer\s+container.read logs.read/);
  });
});
