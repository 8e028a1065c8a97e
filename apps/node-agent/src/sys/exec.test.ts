import { describe, expect, it } from "vitest";
import { ExecError, run } from "./exec";

describe("run", () => {
  it("returns stdout, stderr and code 0", async () => {
    const r = await run(["/bin/sh", "-c", "echo out; echo err >&2"]);
    expect(r).toEqual({ stdout: "out\n", stderr: "err\n", code: 0 });
  });

  it("passes argv without a shell", async () => {
    const r = await run(["/bin/echo", "$HOME; rm -rf /"]);
    expect(r.stdout).toBe("$HOME; rm -rf /\n");
  });

  it("throws ExecError keeping command, code, stdout and stderr", async () => {
    const e = await run(["/bin/sh", "-c", "echo partial; echo boom >&2; exit 3"]).catch(
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(ExecError);
    const x = e as ExecError;
    expect(x.command).toEqual(["/bin/sh", "-c", "echo partial; echo boom >&2; exit 3"]);
    expect(x.code).toBe(3);
    expect(x.stdout).toBe("partial\n");
    expect(x.stderr).toBe("boom\n");
    expect(x.message).toContain("exit code 3: boom");
  });

  it("resolves non-zero codes with allowFailure", async () => {
    const r = await run(["/bin/sh", "-c", "exit 5"], { allowFailure: true });
    expect(r.code).toBe(5);
  });

  it("reports a missing binary as ExecError with a null code", async () => {
    const e = (await run(["/nonexistent/berth-binary"]).catch((x: unknown) => x)) as ExecError;
    expect(e).toBeInstanceOf(ExecError);
    expect(e.code).toBeNull();
    expect(e.message).toContain("ENOENT");
  });

  it("feeds input on stdin", async () => {
    const r = await run(["/bin/cat"], { input: "hello" });
    expect(r.stdout).toBe("hello");
  });
});
