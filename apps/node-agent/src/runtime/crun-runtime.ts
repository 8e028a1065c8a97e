/**
 * CrunRuntime: crun's CLI with its own state root (`--root <stateDir>/crun`). Same contract as
 * RuncRuntime (OciRuntime); crun 1.8 refuses hosts with a hybrid cgroup layout, so the agent
 * only selects it where `probeRuntimes` reports it usable (see runtime-probe.ts).
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DomainError } from "@berth/core";
import { ExecError, run } from "../sys/exec";
import type { OciResources } from "./spec/oci-spec";
import { RuntimeStateSchema, type OciRuntime, type RuntimeState } from "./oci-runtime";

/** crun's wording when a container is unknown: "error opening file `…/status`: No such file". */
const NOT_EXIST = /does not exist|not found|no such file/i;
const ALREADY_GONE = /not running|process already finished|no such process/i;

export const DEFAULT_CRUN_PATH = "/usr/bin/crun";

export class CrunRuntime implements OciRuntime {
  readonly name = "crun";
  readonly globalArgs: readonly string[];

  constructor(
    readonly path: string,
    readonly root: string,
  ) {
    this.globalArgs = [`--root=${root}`];
  }

  static async create(path: string, root: string): Promise<CrunRuntime> {
    await mkdir(root, { recursive: true, mode: 0o700 });
    return new CrunRuntime(path, root);
  }

  private argv(...args: string[]): string[] {
    return [this.path, ...this.globalArgs, ...args];
  }

  private fail(
    verb: string,
    r: { code: number | null; stdout: string; stderr: string },
    command: readonly string[],
  ): never {
    throw new DomainError(
      "runtime",
      `crun ${verb} failed: ${r.stderr.trim() || `exit code ${r.code}`}`,
      {
        command,
        exitCode: r.code,
        stdout: r.stdout.slice(0, 4096),
        stderr: r.stderr.slice(0, 4096),
      },
    );
  }

  private async exec(...args: string[]) {
    const argv = this.argv(...args);
    try {
      return await run(argv, { timeoutMs: 60_000 });
    } catch (e) {
      if (e instanceof ExecError) this.fail(args[0]!, e, e.command);
      throw e;
    }
  }

  async version(): Promise<string> {
    const { stdout } = await run([this.path, "--version"], { timeoutMs: 10_000 });
    return /version\s+(\S+)/.exec(stdout)?.[1] ?? stdout.split("\n")[0]!.trim();
  }

  async create(id: string, bundle: string, pidFile: string): Promise<void> {
    await this.exec("create", "--bundle", bundle, "--pid-file", pidFile, id);
  }

  /** `crun update --resources FILE <id>` (crun 1.8 reads the resources from a file, not stdin). */
  async update(id: string, resources: OciResources): Promise<void> {
    const dir = await mkdtemp(join(tmpdir(), "berth-crun-update-"));
    try {
      const file = join(dir, "resources.json");
      await writeFile(file, JSON.stringify(resources), { mode: 0o600 });
      await this.exec("update", "--resources", file, id);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  async start(id: string): Promise<void> {
    await this.exec("start", id);
  }

  async state(id: string): Promise<RuntimeState | null> {
    const argv = this.argv("state", id);
    const r = await run(argv, { allowFailure: true, timeoutMs: 30_000 });
    if (r.code !== 0) {
      if (NOT_EXIST.test(r.stderr)) return null;
      this.fail("state", r, argv);
    }
    return RuntimeStateSchema.parse(JSON.parse(r.stdout));
  }

  async kill(id: string, signal: string, all = false): Promise<void> {
    const argv = this.argv("kill", ...(all ? ["--all"] : []), id, signal);
    const r = await run(argv, { allowFailure: true, timeoutMs: 30_000 });
    // Killing a container that already stopped is not an error for us.
    if (r.code !== 0 && !NOT_EXIST.test(r.stderr) && !ALREADY_GONE.test(r.stderr)) {
      this.fail("kill", r, argv);
    }
  }

  async delete(id: string, force = false): Promise<void> {
    const argv = this.argv("delete", ...(force ? ["--force"] : []), id);
    const r = await run(argv, { allowFailure: true, timeoutMs: 60_000 });
    if (r.code !== 0 && !NOT_EXIST.test(r.stderr)) this.fail("delete", r, argv);
  }
}
