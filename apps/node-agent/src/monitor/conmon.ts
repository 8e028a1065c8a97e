/**
 * conmon, one per container: it runs `<runtime> create`, holds the container's stdio (writing
 * it to a k8s-file log), waits for the container and writes its exit code to
 * `<exitDir>/<id>` — also when the agent is down. It is started detached (own session,
 * stdio on /dev/null) so it outlives the agent. The agent learns the container's pid (or the
 * runtime's error) through conmon's sync pipe (`_OCI_SYNCPIPE`, fd 3), as podman does.
 */
import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { DomainError } from "@berth/core";
import { run } from "../sys/exec";
import { isErrno } from "../sys/fs";
import type { OciRuntime } from "../runtime/oci-runtime";

export interface ConmonCreateOptions {
  id: string;
  name: string;
  bundle: string;
  /** Where the container's init pid is written. */
  pidFile: string;
  conmonPidFile: string;
  logPath: string;
  exitDir: string;
  socketDir: string;
  /** conmon writes `oom` here when the container was OOM-killed. */
  persistDir: string;
  timeoutMs?: number;
}

export interface MonitorProcess {
  pid: number;
  conmonPid: number | null;
}

export class ConmonMonitor {
  constructor(
    readonly conmonPath: string,
    readonly runtime: OciRuntime,
  ) {}

  async version(): Promise<string> {
    const { stdout } = await run([this.conmonPath, "--version"]);
    return /version\s+(\S+)/.exec(stdout)?.[1] ?? stdout.split("\n")[0]!.trim();
  }

  argv(o: ConmonCreateOptions): string[] {
    return [
      this.conmonPath,
      "--api-version",
      "1",
      "-c",
      o.id,
      "-u",
      o.id.slice(0, 12),
      "-n",
      o.name,
      "-r",
      this.runtime.path,
      ...this.runtime.globalArgs.flatMap((a) => ["--runtime-arg", a]),
      "-b",
      o.bundle,
      "-p",
      o.pidFile,
      "-P",
      o.conmonPidFile,
      // No --log-size-max: conmon's swap unlinks the previous file (truncation, not rotation)
      // and reopens O_TRUNC. conmon appends to one file for ever; log-rotation.ts rotates it.
      "-l",
      `k8s-file:${o.logPath}`,
      "--exit-dir",
      o.exitDir,
      "--socket-dir-path",
      o.socketDir,
      "-0",
      o.persistDir,
      "--log-level",
      "warning",
    ];
  }

  /** Starts conmon, which runs `runtime create`; resolves with the container's pid. */
  create(o: ConmonCreateOptions): Promise<MonitorProcess> {
    const argv = this.argv(o);
    const child = spawn(argv[0]!, argv.slice(1), {
      detached: true,
      // conmon also drops its `oom` marker in its working directory: keep it in the
      // container's own dir, never the agent's cwd.
      cwd: o.persistDir,
      stdio: ["ignore", "ignore", "ignore", "pipe"],
      env: {
        PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        _OCI_SYNCPIPE: "3",
      },
    });
    const sync = child.stdio[3] as NodeJS.ReadableStream & { destroy(): void };
    return new Promise<MonitorProcess>((resolve, reject) => {
      let buf = "";
      let settled = false;
      let parentExit: number | null = null;
      const timer = setTimeout(
        () =>
          finish(
            new DomainError(
              "timeout",
              `conmon did not report the container of ${o.id} within ${(o.timeoutMs ?? 60_000) / 1000}s`,
            ),
          ),
        o.timeoutMs ?? 60_000,
      );
      const finish = (err: Error | null, value?: MonitorProcess) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        sync.destroy();
        child.unref();
        if (err) reject(err);
        else resolve(value!);
      };
      child.on("error", (e) =>
        finish(
          new DomainError("runtime", `cannot start conmon (${this.conmonPath}): ${e.message}`),
        ),
      );
      child.on("exit", (code) => {
        parentExit = code;
      });
      sync.on("data", (chunk: Buffer) => {
        buf += chunk.toString("utf8");
        const end = buf.indexOf("}");
        if (end < 0) return;
        let msg: { data?: number; message?: string };
        try {
          msg = JSON.parse(buf.slice(0, end + 1)) as { data?: number; message?: string };
        } catch {
          return;
        }
        if (typeof msg.data === "number" && msg.data > 0) {
          void readConmonPid(o.conmonPidFile).then((conmonPid) =>
            finish(null, { pid: msg.data!, conmonPid }),
          );
          return;
        }
        const detail = (msg.message ?? "").trim();
        finish(
          new DomainError(
            "runtime",
            `the runtime could not create the container: ${detail || "unknown error"}`,
            {
              command: argv,
              runtimeStderr: detail,
            },
          ),
        );
      });
      sync.on("end", () =>
        finish(
          new DomainError(
            "runtime",
            `conmon exited before reporting the container (exit code ${parentExit ?? "unknown"})`,
            {
              command: argv,
            },
          ),
        ),
      );
    });
  }
}

async function readConmonPid(path: string): Promise<number | null> {
  try {
    const n = Number((await readFile(path, "utf8")).trim());
    return Number.isInteger(n) && n > 0 ? n : null;
  } catch (e) {
    if (isErrno(e, "ENOENT")) return null;
    throw e;
  }
}

/** Reads conmon's exit file: the exit code, or null when it is not (completely) written yet. */
export async function readExitFile(path: string): Promise<number | null> {
  let text: string;
  try {
    text = (await readFile(path, "utf8")).trim();
  } catch (e) {
    if (isErrno(e, "ENOENT")) return null;
    throw e;
  }
  if (!/^-?\d+$/.test(text)) return null;
  return Number(text);
}
