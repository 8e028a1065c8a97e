/**
 * `berth exec`: flag parsing (docker's flags, pass-through of the command's own flags, -it
 * refused), and the whole command in-process against a tiny tRPC server on 127.0.0.1 whose
 * `containers.exec` subscription validates input with the real @berth/core schema (it tests the
 * CLI's request, output and exit codes; it stands in for berth-server nowhere else).
 */
import { Readable } from "node:stream";
import { EventEmitter } from "node:events";
import { ContainerExecInputSchema, DomainError, ExecSessionInputSchema } from "@berth/core";
import { TRPCError } from "@trpc/server";
import { Command } from "commander";
import { describe, expect, it } from "vitest";
import { type CliContext } from "../context";
import {
  defineExecCommand,
  execFailureExitCode,
  toExecInput,
  type ExecFlags,
} from "./exec.command";
import { runBerth, testTrpc, trpcServer, useTestServer } from "../testing/cli-harness";

function parse(argv: string[]) {
  let got: { ref: string; argv: string[]; flags: ExecFlags } | undefined;
  const program = new Command().enablePositionalOptions().exitOverride();
  defineExecCommand(
    program
      .command("exec")
      .exitOverride()
      .configureOutput({ writeErr: () => undefined }),
  ).action((ref: string, args: string[], flags: ExecFlags) => {
    got = { ref, argv: args, flags };
  });
  program.parse(["exec", ...argv], { from: "user" });
  if (!got) throw new Error("exec did not run");
  return toExecInput(got.ref, got.argv, got.flags, (n) => (n === "HOME_DIR" ? "/h" : undefined));
}

describe("berth exec flags", () => {
  it("parses -u, -w, repeated -e and -d; the command keeps its own flags", () => {
    expect(
      parse([
        "-u",
        "nobody",
        "-w",
        "/tmp",
        "-e",
        "A=1",
        "-e",
        "B=x=y",
        "-d",
        "web",
        "ls",
        "-l",
        "-a",
      ]),
    ).toEqual({
      ref: "web",
      argv: ["ls", "-l", "-a"],
      env: ["A=1", "B=x=y"],
      detach: true,
      user: "nobody",
      workingDir: "/tmp",
    });
    expect(parse(["web", "sh", "-c", "echo hi"])).toEqual({
      ref: "web",
      argv: ["sh", "-c", "echo hi"],
      env: [],
      detach: false,
    });
  });

  it("-e KEY copies the variable from the CLI's environment, or drops it when unset", () => {
    expect(parse(["-e", "HOME_DIR", "-e", "UNSET", "web", "env"]).env).toEqual(["HOME_DIR=/h"]);
  });

  it("-i and -t become interactive / tty", () => {
    expect(parse(["-it", "web", "sh"])).toEqual({
      ref: "web",
      argv: ["sh"],
      env: [],
      detach: false,
      tty: true,
      interactive: true,
    });
    expect(parse(["-i", "web", "cat"])).toMatchObject({ interactive: true });
    expect(parse(["-i", "web", "cat"])).not.toHaveProperty("tty");
  });

  it("refuses -d with -i/-t, bad -e, a relative -w and a missing command", () => {
    expect(() => parse(["-d", "-it", "web", "sh"])).toThrow("-d cannot be combined with -i or -t");
    expect(() => parse(["-dt", "web", "sh"])).toThrow(/-d cannot be combined/);
    expect(() => parse(["-e", "=x", "web", "env"])).toThrow(/expected KEY=VALUE/);
    expect(() => parse(["-w", "tmp", "web", "pwd"])).toThrow(/invalid exec options/);
    expect(() => parse(["web"])).toThrow(/missing required argument 'command'/);
  });

  it("maps start failures to docker's 127 / 126", () => {
    expect(execFailureExitCode('executable file not found in $PATH: "nope"')).toBe(127);
    expect(execFailureExitCode("exec failed: permission denied")).toBe(126);
    expect(execFailureExitCode("container web is not running")).toBeUndefined();
  });
});

interface FakeSession {
  data: string;
  eof: boolean;
  resizes: unknown[];
}

function startServer() {
  const calls: unknown[] = [];
  const sessions = new Map<string, FakeSession>();
  const { t } = testTrpc();
  const fail = (code: "PRECONDITION_FAILED" | "BAD_REQUEST", kind: string, message: string) =>
    new TRPCError({ code, message, cause: new DomainError(kind as never, message) });
  const router = t.router({
    containers: t.router({
      exec: t.procedure.input(ContainerExecInputSchema).subscription(async function* ({ input }) {
        calls.push(input);
        if (input.ref === "stopped")
          throw fail("PRECONDITION_FAILED", "invalid_state", "container stopped is not running");
        if (input.argv[0] === "nope")
          throw fail("BAD_REQUEST", "invalid_input", 'executable file not found in $PATH: "nope"');
        if (input.detach) return;
        if (input.interactive || input.tty) {
          const id = `session${calls.length}`.padEnd(32, "x");
          const s: FakeSession = { data: "", eof: false, resizes: [] };
          sessions.set(id, s);
          yield { sessionId: id };
          // like `cat`: echoes stdin once it ends
          while (input.interactive && !s.eof) await new Promise((r) => setTimeout(r, 5));
          if (s.data) yield { stdout: s.data };
          yield { exitCode: input.interactive ? 0 : 4 };
          sessions.delete(id);
          return;
        }
        yield { stdout: "out\n" };
        yield { stderr: "err\n" };
        yield { exitCode: 3 };
      }),
      execInput: t.procedure.input(ExecSessionInputSchema).mutation(({ input }) => {
        const s = sessions.get(input.sessionId);
        if (!s) throw new TRPCError({ code: "NOT_FOUND", message: "no such exec session" });
        if (input.resize) s.resizes.push(input.resize);
        if (input.data) s.data += Buffer.from(input.data, "base64").toString();
        if (input.eof) s.eof = true;
        return { ok: true as const };
      }),
    }),
  });
  return { server: trpcServer(router), calls, sessions };
}

describe("berth exec against a tRPC server on 127.0.0.1", () => {
  const srv = startServer();
  const env = useTestServer(srv.server, "berth-cli-exec-");

  const berth = (argv: string[], io: { stdin?: CliContext["stdin"]; stdout?: EventEmitter } = {}) =>
    runBerth(argv, env, {
      stdoutBase: io.stdout ?? new EventEmitter(),
      ...(io.stdin ? { stdin: io.stdin } : {}),
    });

  it("streams stdout and stderr and exits with the command's exit code", async () => {
    const r = await berth(["exec", "-u", "nobody", "web", "sh", "-c", "exit 3"]);
    expect(r).toEqual({ code: 3, stdout: "out\n", stderr: "err\n" });
    expect(srv.calls.at(-1)).toEqual({
      ref: "web",
      argv: ["sh", "-c", "exit 3"],
      user: "nobody",
      env: [],
      detach: false,
      tty: false,
      interactive: false,
    });
  });

  it("-d returns 0 at once without output", async () => {
    expect(await berth(["exec", "-d", "web", "sleep", "9"])).toEqual({
      code: 0,
      stdout: "",
      stderr: "",
    });
  });

  it("a stopped container fails with exit 1; a missing command with 127", async () => {
    const stopped = await berth(["exec", "stopped", "true"]);
    expect(stopped.code).toBe(1);
    expect(stopped.stderr).toContain("container stopped is not running");
    const missing = await berth(["exec", "web", "nope"]);
    expect(missing.code).toBe(127);
    expect(missing.stderr).toContain('executable file not found in $PATH: "nope"');
  });

  it("-it with a stdin that is not a terminal fails like docker, without calling the server", async () => {
    const before = srv.calls.length;
    const r = await berth(["exec", "-it", "web", "sh"], { stdin: Readable.from(["x"]) });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("the input device is not a TTY");
    expect(srv.calls.length).toBe(before);
  });

  it("-i with piped stdin streams it and sends EOF at its end (echo hi | berth exec -i c cat)", async () => {
    const r = await berth(["exec", "-i", "web", "cat"], {
      stdin: Readable.from([Buffer.from("hi\n"), Buffer.from("there\n")]),
    });
    expect(r).toEqual({ code: 0, stdout: "hi\nthere\n", stderr: "" });
    expect(srv.calls.at(-1)).toMatchObject({ ref: "web", interactive: true, tty: false });
  });

  it("-t alone sends the terminal size and returns the exit code", async () => {
    const out = Object.assign(new EventEmitter(), { isTTY: true, columns: 132, rows: 43 });
    const r = await berth(["exec", "-t", "web", "sh", "-c", "exit 4"], { stdout: out });
    expect(r.code).toBe(4);
    expect(srv.calls.at(-1)).toMatchObject({
      tty: true,
      interactive: false,
      size: { cols: 132, rows: 43 },
    });
  });

  it("-it on a terminal: raw mode on then restored, keys and resizes sent in order", async () => {
    const rawCalls: boolean[] = [];
    const out = Object.assign(new EventEmitter(), { isTTY: true, columns: 80, rows: 24 });
    const session = () => [...srv.sessions.values()].at(-1);
    const waitUntil = async (ok: () => boolean) => {
      for (let i = 0; i < 400 && !ok(); i++) await new Promise((r) => setTimeout(r, 5));
      if (!ok()) throw new Error("timed out");
    };
    async function* keys() {
      yield Buffer.from("ls\r");
      await waitUntil(() => session()?.data === "ls\r");
      out.columns = 100;
      out.rows = 30;
      out.emit("resize");
      await waitUntil(() => (session()?.resizes.length ?? 0) > 0);
      yield Buffer.from("\x03"); // Ctrl-C is just a byte in raw mode
    }
    const stdin = Object.assign(keys(), {
      isTTY: true,
      setRawMode: (b: boolean) => rawCalls.push(b),
    });
    const r = await berth(["exec", "-it", "web", "sh"], { stdin, stdout: out });
    expect(r).toEqual({ code: 0, stdout: "ls\r\x03", stderr: "" });
    expect(rawCalls).toEqual([true, false]);
    expect(srv.calls.at(-1)).toMatchObject({
      tty: true,
      interactive: true,
      size: { cols: 80, rows: 24 },
    });
    expect(session()).toBeUndefined(); // ended
  });

  it("raw mode is restored when the exec fails", async () => {
    const rawCalls: boolean[] = [];
    const stdin = Object.assign(Readable.from([]), {
      isTTY: true,
      setRawMode: (b: boolean) => rawCalls.push(b),
    });
    const r = await berth(["exec", "-it", "stopped", "sh"], { stdin });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("container stopped is not running");
    expect(rawCalls).toEqual([true, false]);
  });
});
