import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { ConfigError, DEFAULT_STATE_DIR, parseConfig, USAGE } from "./config";

const cfg = (argv: string[], env: Record<string, string> = {}) => {
  const r = parseConfig(argv, env);
  if (r.kind !== "config") throw new Error("expected a config");
  return r.config;
};
const fails = (argv: string[], env: Record<string, string> = {}) => {
  try {
    parseConfig(argv, env);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as ConfigError).exitCode).toBe(2);
    return (e as Error).message;
  }
  throw new Error("expected a ConfigError");
};

describe("parseConfig", () => {
  it("--runtime takes a runtime name or a binary path, and rejects other names", () => {
    const server = ["--server", "http://127.0.0.1:3000"];
    expect(cfg([...server, "--runtime", "crun"])).toMatchObject({ runtimeName: "crun" });
    expect(cfg(server, { BERTH_RUNTIME: "runc" })).toMatchObject({ runtimeName: "runc" });
    expect(cfg([...server, "--runtime", "/opt/crun"]).runtimeName).toBeUndefined();
    expect(fails([...server, "--runtime", "kata"])).toMatch(/^invalid --runtime "kata": /);
  });

  it("reads flags, falls back to env, then to defaults; flags win", () => {
    expect(cfg(["--server", "http://127.0.0.1:3000/", "--join-token", "tok_0123456789"])).toEqual({
      serverUrl: "http://127.0.0.1:3000",
      joinToken: "tok_0123456789",
      stateDir: DEFAULT_STATE_DIR,
      logLevel: "info",
      networkPrefix: "berth",
      usageIntervalSec: 10,
    });
    const env = {
      BERTH_SERVER: "https://berth.example.com",
      BERTH_JOIN_TOKEN: "env-token-123",
      BERTH_AGENT_STATE_DIR: "/tmp/a",
      BERTH_LOG_LEVEL: "debug",
    };
    expect(cfg([], env)).toEqual({
      serverUrl: "https://berth.example.com",
      joinToken: "env-token-123",
      stateDir: "/tmp/a",
      logLevel: "debug",
      networkPrefix: "berth",
      usageIntervalSec: 10,
    });
    expect(
      cfg(
        [
          "--server",
          "http://10.0.0.1:80",
          "--state-dir",
          "/srv/b",
          "--log-level",
          "warn",
          "--runtime",
          "/usr/bin/crun",
        ],
        env,
      ),
    ).toMatchObject({
      serverUrl: "http://10.0.0.1",
      stateDir: "/srv/b",
      logLevel: "warn",
      runtimePath: "/usr/bin/crun",
    });
  });

  it("--insecure-registry is repeatable (or a comma list in env) and must be host[:port]", () => {
    const server = ["--server", "http://127.0.0.1:3000"];
    expect(cfg(server).insecureRegistries).toBeUndefined();
    expect(
      cfg([...server, "--insecure-registry", "reg.lan:5000", "--insecure-registry", "10.0.0.2"])
        .insecureRegistries,
    ).toEqual(["reg.lan:5000", "10.0.0.2"]);
    expect(
      cfg(server, { BERTH_INSECURE_REGISTRIES: " reg.lan:5000 , other.lan," }).insecureRegistries,
    ).toEqual(["reg.lan:5000", "other.lan"]);
    expect(fails([...server, "--insecure-registry", "http://reg.lan"])).toMatch(
      /^invalid --insecure-registry .*host\[:port\]/,
    );
  });

  it("--node-name (or BERTH_NODE_NAME) names the node at join; the flag wins", () => {
    const server = ["--server", "http://127.0.0.1:3000"];
    expect(cfg(server).nodeName).toBeUndefined();
    expect(cfg([...server, "--node-name", "bfl-h1"]).nodeName).toBe("bfl-h1");
    expect(cfg(server, { BERTH_NODE_NAME: "edge.2" }).nodeName).toBe("edge.2");
    expect(cfg([...server, "--node-name", "a"], { BERTH_NODE_NAME: "b" }).nodeName).toBe("a");
    expect(fails([...server, "--node-name=bad name"])).toMatch(/^invalid --node-name "bad name"/);
    expect(fails(server, { BERTH_NODE_NAME: ".x" })).toMatch(/^invalid --node-name/);
  });

  it("--usage-interval (or BERTH_USAGE_INTERVAL) sets the usage sampling period", () => {
    const server = ["--server", "http://127.0.0.1:3000"];
    expect(cfg([...server, "--usage-interval", "1.5"]).usageIntervalSec).toBe(1.5);
    expect(cfg(server, { BERTH_USAGE_INTERVAL: "5" }).usageIntervalSec).toBe(5);
    expect(fails([...server, "--usage-interval", "0"])).toMatch(
      /^invalid --usage-interval "0": must be at least 0.2 seconds/,
    );
  });

  it("--network-prefix (or BERTH_NETWORK_PREFIX) names the bridges; off turns networking off", () => {
    const server = ["--server", "http://127.0.0.1:3000"];
    expect(cfg([...server, "--network-prefix", "bfla"]).networkPrefix).toBe("bfla");
    expect(cfg(server, { BERTH_NETWORK_PREFIX: "off" }).networkPrefix).toBe("off");
    expect(fails([...server, "--network-prefix", "Berth1"])).toMatch(
      /^invalid --network-prefix "Berth1": must be 2-8 lowercase letters/,
    );
  });

  it("--cleanup-network needs no server: prefix and state dir from flags or env", () => {
    expect(parseConfig(["--cleanup-network", "--network-prefix", "bnetoe"], {})).toEqual({
      kind: "cleanup-network",
      prefix: "bnetoe",
      stateDir: DEFAULT_STATE_DIR,
    });
    expect(parseConfig(["--cleanup-network"], { BERTH_AGENT_STATE_DIR: "/tmp/x" })).toEqual({
      kind: "cleanup-network",
      prefix: "berth",
      stateDir: "/tmp/x",
    });
    expect(() => parseConfig(["--cleanup-network", "--network-prefix", "off"], {})).toThrow(
      ConfigError,
    );
  });

  it("prints help", () => {
    expect(parseConfig(["--help"], {})).toEqual({ kind: "help", text: USAGE });
    expect(parseConfig(["-h"], { BERTH_SERVER: "nope" }).kind).toBe("help");
  });

  it("gives one clear line for bad input", () => {
    expect(fails([])).toBe(
      "missing server: pass --server URL or set BERTH_SERVER (see berth-agent --help)",
    );
    expect(fails(["--server", "not a url"])).toBe(
      'invalid --server "not a url": is not a valid URL',
    );
    expect(fails(["--server", "ftp://x"])).toBe(
      'invalid --server "ftp://x": must be an http:// or https:// URL',
    );
    expect(fails(["--server", "http://u:p@x"])).toMatch(/must not carry credentials/);
    expect(fails(["--server", "http://x", "--state-dir", "rel/dir"])).toBe(
      'invalid --state-dir "rel/dir": must be an absolute path',
    );
    expect(fails(["--server", "http://x", "--log-level", "loud"])).toMatch(
      /^invalid --log-level "loud": /,
    );
    expect(fails(["--server", "http://x", "--join-token", "short"])).toBe(
      "invalid --join-token: is too short",
    ); // token not echoed
    expect(fails(["--bogus"])).toMatch(/^Unknown option '--bogus'.*\(see berth-agent --help\)$/);
    expect(fails(["--server", "http://x", "extra"])).toMatch(/Unexpected argument 'extra'/);
    for (const m of [fails([]), fails(["--server", "::"])]) expect(m).not.toContain("\n");
  });
});

describe("berth-agent process (usage paths, no engine started)", () => {
  const main = join(dirname(fileURLToPath(import.meta.url)), "main.ts");
  const run = (args: string[], env: Record<string, string> = {}) =>
    spawnSync(process.execPath, ["--import", "tsx", main, ...args], {
      encoding: "utf8",
      timeout: 20_000,
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env },
    });

  it("--help prints usage and exits 0", () => {
    const r = run(["--help"]);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(USAGE);
  });

  it("a bad URL or a missing server exits 2 with one line on stderr", () => {
    const bad = run(["--server", "notaurl"]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toBe('berth-agent: invalid --server "notaurl": is not a valid URL\n');
    const missing = run([]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toBe(
      "berth-agent: missing server: pass --server URL or set BERTH_SERVER (see berth-agent --help)\n",
    );
  });
});
