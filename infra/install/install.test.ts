/**
 * infra/install: the systemd units, rendered the way install.sh renders them, pass
 * `systemd-analyze verify` without a warning (or, where systemd-analyze is missing, a syntax check
 * of our own); the agent's keeps containers alive across restarts; install.sh passes `bash -n`
 * and shellcheck (when installed) and, with --dry-run, says what it would do and changes nothing.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "../..");
const UNITS = ["berth-server.service", "berth-agent.service"];
const has = (cmd: string) => spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;

const out = mkdtempSync(join(tmpdir(), "berth-units-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

/** As install.sh does: @PREFIX@ and @NODE@ filled in. */
function render(unit: string): string {
  const text = readFileSync(join(here, unit), "utf8")
    .replaceAll("@PREFIX@", root)
    .replaceAll("@NODE@", process.execPath);
  const path = join(out, unit);
  writeFileSync(path, text);
  return path;
}

/** Sections, `Key=value` lines and comments only; every key in a section. */
function parseUnit(text: string): Map<string, Map<string, string[]>> {
  const sections = new Map<string, Map<string, string[]>>();
  let current: Map<string, string[]> | undefined;
  text.split("\n").forEach((line, i) => {
    if (/^\s*([#;].*)?$/.test(line)) return;
    const section = /^\[([A-Za-z]+)\]$/.exec(line);
    if (section) {
      current = new Map();
      sections.set(section[1]!, current);
      return;
    }
    const kv = /^([A-Za-z][A-Za-z0-9]*)=(.*)$/.exec(line);
    if (!kv || !current) throw new Error(`line ${i + 1} is not unit syntax: ${line}`);
    current.set(kv[1]!, [...(current.get(kv[1]!) ?? []), kv[2]!]);
  });
  return sections;
}

describe("systemd units", () => {
  it.each(UNITS)("%s parses", (unit) => {
    const path = render(unit);
    const parsed = parseUnit(readFileSync(path, "utf8"));
    expect([...parsed.keys()]).toEqual(["Unit", "Service", "Install"]);
    expect(parsed.get("Service")!.get("ExecStart")![0]).toMatch(
      new RegExp(`^${process.execPath} `),
    );
    if (!has("systemd-analyze")) return;
    const r = spawnSync("systemd-analyze", ["verify", path], { encoding: "utf8" });
    expect({ status: r.status, stderr: r.stderr.trim() }).toEqual({ status: 0, stderr: "" });
  });

  it("the agent's unit delegates its cgroup subtree and stops only the agent", () => {
    const service = parseUnit(readFileSync(render("berth-agent.service"), "utf8")).get("Service")!;
    expect(service.get("Delegate")).toEqual(["yes"]);
    expect(service.get("KillMode")).toEqual(["process"]);
    expect(service.get("Restart")).toEqual(["always"]);
    expect(service.get("EnvironmentFile")).toEqual(["/etc/berth/agent.env"]);
  });

  it("the server's unit runs as the berth user with only its data dir writable", () => {
    const service = parseUnit(readFileSync(render("berth-server.service"), "utf8")).get("Service")!;
    expect(service.get("User")).toEqual(["berth"]);
    expect(service.get("ProtectSystem")).toEqual(["strict"]);
    expect(service.get("ReadWritePaths")).toContain("/var/lib/berth-server");
  });

  it("systemd-analyze (when present) catches a broken unit: the check is not vacuous", () => {
    if (!has("systemd-analyze")) return;
    const bad = join(out, "broken.service");
    writeFileSync(bad, "[Service]\nExecStart=/nonexistent/berth\nBogusKey=1\n");
    const r = spawnSync("systemd-analyze", ["verify", bad], { encoding: "utf8" });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/Unknown key 'BogusKey'/);
  });
});

describe("install.sh", () => {
  const script = join(here, "install.sh");

  it("passes bash -n and shellcheck", () => {
    execFileSync("bash", ["-n", script]);
    if (has("shellcheck")) execFileSync("shellcheck", [script]);
  });

  it("--dry-run prints every step and changes nothing", () => {
    const prefix = join(out, "opt-berth");
    const r = spawnSync(
      "bash",
      [
        script,
        "--server",
        "--agent",
        "--dry-run",
        "--skip-build",
        "--prefix",
        prefix,
        "--join-token",
        "bjt_example",
      ],
      { encoding: "utf8" },
    );
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`+ cp -a --no-preserve=ownership ${root}/. ${prefix}/`);
    expect(r.stdout).toMatch(/\/etc\/berth\/(server|agent)\.env/);
    expect(r.stdout).toContain("BERTH_JOIN_TOKEN=bjt_example");
    expect(r.stdout).toContain(`render ${join(here, "berth-agent.service")} with PREFIX=${prefix}`);
    expect(existsSync(prefix)).toBe(false);
  });

  it("refuses to guess: no role, or an agent without a server URL", () => {
    const none = spawnSync("bash", [script, "--dry-run"], { encoding: "utf8" });
    expect(none.status).toBe(1);
    expect(none.stderr).toContain("say what to install");
    const agent = spawnSync("bash", [script, "--agent", "--dry-run"], { encoding: "utf8" });
    expect(agent.status).toBe(1);
    expect(agent.stderr).toContain("--server-url");
  });
});
