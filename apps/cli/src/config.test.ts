import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  configFilePath,
  DEFAULT_SERVER,
  loadConfigFile,
  readEnv,
  resolveConnection,
  saveConfigFile,
  type ConfigFile,
} from "./config";

const file: ConfigFile = {
  version: 1,
  current: "http://saved:8080",
  auths: {
    "http://saved:8080": { token: "berth_saved", username: "admin", savedAt: 1 },
    "http://env:9000": { token: "berth_env_server_saved", username: "bob", savedAt: 2 },
  },
};

describe("config precedence: flags > env > saved login > default", () => {
  it("uses the saved login when nothing else is given", () => {
    expect(resolveConnection({}, readEnv({}), file)).toMatchObject({
      server: "http://saved:8080",
      token: "berth_saved",
      serverFrom: "file",
      tokenFrom: "file",
    });
  });

  it("falls back to the default server and no token on a fresh machine", () => {
    expect(resolveConnection({}, readEnv({}), { version: 1, auths: {} })).toEqual({
      server: DEFAULT_SERVER,
      token: null,
      serverFrom: "default",
      tokenFrom: null,
    });
  });

  it("prefers BERTH_SERVER over the file, and then takes that server's saved token", () => {
    const env = readEnv({ BERTH_SERVER: "http://env:9000/" });
    expect(resolveConnection({}, env, file)).toMatchObject({
      server: "http://env:9000",
      token: "berth_env_server_saved",
    });
  });

  it("prefers BERTH_TOKEN over a saved token", () => {
    const env = readEnv({ BERTH_TOKEN: "berth_from_env" });
    expect(resolveConnection({}, env, file)).toMatchObject({
      server: "http://saved:8080",
      token: "berth_from_env",
      tokenFrom: "env",
    });
  });

  it("prefers flags over everything", () => {
    const env = readEnv({ BERTH_SERVER: "http://env:9000", BERTH_TOKEN: "berth_from_env" });
    expect(
      resolveConnection({ server: "https://flag.example:443/", token: "berth_flag" }, env, file),
    ).toEqual({
      server: "https://flag.example",
      token: "berth_flag",
      serverFrom: "flag",
      tokenFrom: "flag",
    });
  });

  it("ignores empty environment variables and rejects malformed ones", () => {
    expect(
      resolveConnection({}, readEnv({ BERTH_SERVER: "", BERTH_TOKEN: " " }), file).server,
    ).toBe("http://saved:8080");
    expect(() => readEnv({ BERTH_SERVER: "ftp://x" })).toThrow(/BERTH_SERVER/);
    expect(() => resolveConnection({ server: "not a url" }, readEnv({}), file)).toThrow(
      /invalid server "not a url" \(--server\)/,
    );
  });
});

describe("config file", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "berth-cli-config-"));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it("lives in BERTH_CONFIG_DIR, is written with mode 0600 and read back", () => {
    const env = readEnv({ BERTH_CONFIG_DIR: join(dir, "nested") });
    const path = configFilePath(env);
    expect(path).toBe(join(dir, "nested", "config.json"));
    expect(loadConfigFile(path)).toEqual({ version: 1, auths: {} });
    saveConfigFile(path, file);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, "nested")).mode & 0o777).toBe(0o700);
    expect(loadConfigFile(path)).toEqual(file);
  });

  it("explains a corrupt file instead of crashing", () => {
    const path = join(dir, "config.json");
    writeFileSync(path, "{ nope");
    expect(() => loadConfigFile(path)).toThrow(/is not valid JSON/);
    writeFileSync(path, JSON.stringify({ version: 1, auths: { x: { token: 5 } } }));
    expect(() => loadConfigFile(path)).toThrow(/is not a berth configuration/);
    expect(readFileSync(path, "utf8")).toContain("token");
  });
});
