/** RuncRuntime: runc's CLI with its own state root (`--root <stateDir>/runc`). */
import { mkdir } from "node:fs/promises";
import { DomainError } from "@berth/core";
import { ExecError, run } from "../sys/exec";
import type { OciResources } from "./spec/oci-spec";
import { RuntimeStateSchema, type OciRuntime, type RuntimeState } from "./oci-runtime";

const NOT_EXIST = /does not exist|not found|no such file/i;

export class RuncRuntime implements OciRuntime {
  readonly name = "runc";
  readonly globalArgs: readonly string[];

  constructor(
    readonly path: string,
    readonly root: string,
  ) {
    this.globalArgs = [`--root=${root}`];
  }

  static async create(path: string, root: string): Promise<RuncRuntime> {
    await mkdir(root, { recursive: true, mode: 0o700 });
    return new RuncRuntime(path, root);
  }

  private argv(...args: string[]): string[] {
    return [this.path, ...this.globalArgs, ...args];
  }

  private async exec(...args: string[]) {
    return this.execWith({}, ...args);
  }

  private async execWith(opts: { input?: string }, ...args: string[]) {
    try {
      return await run(this.argv(...args), { timeoutMs: 60_000, ...opts });
    } catch (e) {
      if (e instanceof ExecError) {
        throw new DomainError(
          "runtime",
          `runc ${args[0]} failed: ${(e.stderr || e.message).trim()}`,
          {
            command: e.command,
            exitCode: e.code,
            stdout: e.stdout.slice(0, 4096),
            stderr: e.stderr.slice(0, 4096),
          },
        );
      }
      throw e;
    }
  }

  async version(): Promise<string> {
    const { stdout } = await run([this.path, "--version"]);
    return /version\s+(\S+)/.exec(stdout)?.[1] ?? stdout.split("\n")[0]!.trim();
  }

  async create(id: string, bundle: string, pidFile: string): Promise<void> {
    await this.exec("create", "--bundle", bundle, "--pid-file", pidFile, id);
  }

  /** `runc update --resources - <id>`: applies OCI linux.resources to a running container. */
  async update(id: string, resources: OciResources): Promise<void> {
    await this.execWith({ input: JSON.stringify(resources) }, "update", "--resources", "-", id);
  }

  async start(id: string): Promise<void> {
    await this.exec("start", id);
  }

  async state(id: string): Promise<RuntimeState | null> {
    const r = await run(this.argv("state", id), { allowFailure: true, timeoutMs: 30_000 });
    if (r.code !== 0) {
      if (NOT_EXIST.test(r.stderr)) return null;
      throw new DomainError("runtime", `runc state failed: ${r.stderr.trim()}`, {
        exitCode: r.code,
        stderr: r.stderr,
      });
    }
    return RuntimeStateSchema.parse(JSON.parse(r.stdout));
  }

  async kill(id: string, signal: string, all = false): Promise<void> {
    const r = await run(this.argv("kill", ...(all ? ["--all"] : []), id, signal), {
      allowFailure: true,
      timeoutMs: 30_000,
    });
    // Killing a container that already stopped is not an error for us.
    if (
      r.code !== 0 &&
      !NOT_EXIST.test(r.stderr) &&
      !/not running|process already finished/i.test(r.stderr)
    ) {
      throw new DomainError("runtime", `runc kill failed: ${r.stderr.trim()}`, {
        exitCode: r.code,
        stderr: r.stderr,
      });
    }
  }

  async delete(id: string, force = false): Promise<void> {
    const r = await run(this.argv("delete", ...(force ? ["--force"] : []), id), {
      allowFailure: true,
      timeoutMs: 60_000,
    });
    if (r.code !== 0 && !NOT_EXIST.test(r.stderr)) {
      throw new DomainError("runtime", `runc delete failed: ${r.stderr.trim()}`, {
        exitCode: r.code,
        stderr: r.stderr,
      });
    }
  }
}
