import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ContainerSpecSchema } from "@berth/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ImageConfig } from "../images/oci";
import {
  effectiveHealthcheck,
  findExecutable,
  imageHealthcheck,
  processConfig,
  resolveUser,
} from "./process-config";

const image: ImageConfig = {
  architecture: "amd64",
  os: "linux",
  config: { Env: ["PATH=/usr/bin:/bin", "LANG=C"], Cmd: ["sh"], WorkingDir: "/srv" },
  rootfs: { type: "layers", diff_ids: [] },
};
const spec = (s: object) => ContainerSpecSchema.parse({ image: "busybox", ...s });

describe("processConfig", () => {
  it("uses the image's CMD, env and working dir by default", () => {
    const p = processConfig(spec({}), image, "h1");
    expect(p.args).toEqual(["sh"]);
    expect(p.cwd).toBe("/srv");
    expect(p.env).toEqual(["PATH=/usr/bin:/bin", "HOSTNAME=h1", "LANG=C", "HOME=/root"]);
  });

  it("lets the spec override command, env by key, and working dir", () => {
    const p = processConfig(
      spec({ command: ["echo", "hi"], env: ["LANG=en", "X=1"], workingDir: "/tmp" }),
      image,
      "h",
    );
    expect(p.args).toEqual(["echo", "hi"]);
    expect(p.env).toContain("LANG=en");
    expect(p.env).toContain("X=1");
    expect(p.env).not.toContain("LANG=C");
    expect(p.cwd).toBe("/tmp");
  });

  it("drops the image CMD when the entrypoint is overridden, as Docker does", () => {
    expect(processConfig(spec({ entrypoint: ["env"] }), image, "h").args).toEqual(["env"]);
  });

  it("refuses a container with nothing to run", () => {
    const bare = { ...image, config: {} };
    expect(() => processConfig(spec({}), bare, "h")).toThrow(/no command specified/);
  });
});

let root: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "berth-proc-"));
  mkdirSync(join(root, "bin"));
  mkdirSync(join(root, "etc"));
  writeFileSync(join(root, "bin/busybox"), "");
  chmodSync(join(root, "bin/busybox"), 0o755);
  symlinkSync("busybox", join(root, "bin/sh"));
  writeFileSync(join(root, "bin/notexec"), "");
  // points at a host path: resolved inside the rootfs, where it does not exist
  symlinkSync("/usr/bin/env", join(root, "bin/hostlink"));
  writeFileSync(
    join(root, "etc/passwd"),
    "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\n",
  );
  writeFileSync(join(root, "etc/group"), "root:x:0:\nstaff:x:50:\n");
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("findExecutable", () => {
  const env = ["PATH=/usr/bin:/bin"];
  it("searches $PATH inside the rootfs, following its symlinks", async () => {
    expect(await findExecutable(root, "sh", env, "/")).toBe("/bin/sh");
    expect(await findExecutable(root, "/bin/sh", env, "/")).toBe("/bin/sh");
  });

  it("refuses missing and non-executable files with exit code 127 semantics", async () => {
    await expect(findExecutable(root, "foo", env, "/")).rejects.toMatchObject({
      kind: "invalid_input",
      message: 'executable file not found in $PATH: "foo"',
      details: { exitCode: 127 },
    });
    await expect(findExecutable(root, "notexec", env, "/")).rejects.toThrow(/not found/);
    await expect(findExecutable(root, "/bin/hostlink", env, "/")).rejects.toThrow(/no such file/);
  });
});

describe("resolveUser", () => {
  it("resolves names and numbers from the rootfs's passwd and group", async () => {
    expect(await resolveUser(root, undefined)).toEqual({ uid: 0, gid: 0 });
    expect(await resolveUser(root, "app")).toEqual({ uid: 1000, gid: 1001 });
    expect(await resolveUser(root, "1000")).toEqual({ uid: 1000, gid: 1001 });
    expect(await resolveUser(root, "app:staff")).toEqual({ uid: 1000, gid: 50 });
    expect(await resolveUser(root, "4242:7")).toEqual({ uid: 4242, gid: 7 });
  });

  it("refuses unknown names", async () => {
    await expect(resolveUser(root, "nobody-here")).rejects.toThrow(/unable to find user/);
    await expect(resolveUser(root, "app:nogroup")).rejects.toThrow(/unable to find group/);
  });
});

describe("image HEALTHCHECK", () => {
  const withHc = (Healthcheck: NonNullable<ImageConfig["config"]>["Healthcheck"]): ImageConfig => ({
    ...image,
    config: { ...image.config, Healthcheck },
  });

  it("converts docker's config (nanoseconds, 0 = default) into a spec healthcheck", () => {
    expect(
      imageHealthcheck(
        withHc({
          Test: ["CMD-SHELL", "wget -q -O- localhost || exit 1"],
          Interval: 5_000_000_000,
          Timeout: 2_500_000_000,
          StartPeriod: 0,
          Retries: 0,
        }),
      ),
    ).toEqual({
      test: ["CMD-SHELL", "wget -q -O- localhost || exit 1"],
      intervalMs: 5000,
      timeoutMs: 2500,
      startPeriodMs: 0,
      retries: 3,
    });
    expect(imageHealthcheck(withHc({ Test: ["CMD", "true"], Retries: 7 }))).toEqual({
      test: ["CMD", "true"],
      intervalMs: 30_000,
      timeoutMs: 30_000,
      startPeriodMs: 0,
      retries: 7,
    });
  });

  it("has none for a missing or empty Test, and ignores a malformed one with a warning", () => {
    expect(imageHealthcheck(image)).toBeUndefined();
    expect(imageHealthcheck(withHc(null))).toBeUndefined();
    expect(imageHealthcheck(withHc({ Test: [] }))).toBeUndefined();
    const warnings: string[] = [];
    expect(imageHealthcheck(withHc({ Test: ["SHELL", "x"] }), (m) => warnings.push(m))).toBe(
      undefined,
    );
    expect(warnings[0]).toMatch(/ignoring the image's HEALTHCHECK/);
  });

  it("the spec's healthcheck wins; NONE (--no-healthcheck) disables the image's too", () => {
    const img = withHc({ Test: ["CMD", "true"], Interval: 1_000_000_000 });
    expect(effectiveHealthcheck(spec({}), img)).toMatchObject({
      test: ["CMD", "true"],
      intervalMs: 1000,
    });
    expect(
      effectiveHealthcheck(spec({ healthcheck: { test: ["CMD-SHELL", "exit 0"] } }), img),
    ).toMatchObject({ test: ["CMD-SHELL", "exit 0"] });
    expect(effectiveHealthcheck(spec({ healthcheck: { test: ["NONE"] } }), img)).toBeNull();
    expect(effectiveHealthcheck(spec({}), withHc({ Test: ["NONE"] }))).toBeNull();
    expect(effectiveHealthcheck(spec({}), image)).toBeNull();
  });
});
