import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parseOomKills, wasOomKilled } from "./oom";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function temp(): string {
  const d = mkdtempSync(join(tmpdir(), "berth-oom-"));
  dirs.push(d);
  return d;
}

describe("parseOomKills", () => {
  it("reads the oom_kill counter of v1 oom_control and v2 memory.events", () => {
    expect(parseOomKills("oom_kill_disable 0\nunder_oom 0\noom_kill 3\n")).toBe(3);
    expect(parseOomKills("low 0\nhigh 0\nmax 5\noom 1\noom_kill 1\noom_group_kill 0\n")).toBe(1);
    expect(parseOomKills("oom_kill_disable 0\nunder_oom 0\n")).toBe(0);
  });
});

describe("wasOomKilled", () => {
  it("trusts conmon's oom file, then the cgroup counters; missing files mean no", async () => {
    const d = temp();
    const mem = join(d, "memory");
    mkdirSync(mem);
    expect(await wasOomKilled(join(d, "oom"), { memory: mem })).toBe(false);
    writeFileSync(join(mem, "memory.oom_control"), "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n");
    expect(await wasOomKilled(join(d, "oom"), { memory: mem })).toBe(false);
    writeFileSync(join(mem, "memory.oom_control"), "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n");
    expect(await wasOomKilled(join(d, "oom"), { memory: mem })).toBe(true);
    writeFileSync(join(d, "oom"), "");
    expect(await wasOomKilled(join(d, "oom"), {})).toBe(true);
    const v2 = join(d, "v2");
    mkdirSync(v2);
    writeFileSync(join(v2, "memory.events"), "oom 1\noom_kill 1\n");
    expect(await wasOomKilled(join(d, "none"), { "": v2 })).toBe(true);
  });
});
