import { describe, expect, it } from "vitest";
import {
  CommandSchemas,
  newContainerId,
  ImageTransferChunkSchema,
  RegistryCredentialSchema,
  registryOfReference,
} from "./index";

describe("registryOfReference (Docker's rule)", () => {
  it.each([
    ["busybox", "docker.io"],
    ["library/busybox:1", "docker.io"],
    ["team/app@sha256:" + "a".repeat(64), "docker.io"],
    ["localhost/app", "localhost"],
    ["localhost:5000/app:1", "localhost:5000"],
    ["127.0.0.1:5000/team/app:1", "127.0.0.1:5000"],
    ["Registry.Example.com/team/app", "registry.example.com"],
    ["index.docker.io/library/busybox", "docker.io"],
    ["registry-1.docker.io/library/busybox", "docker.io"],
    ["[::1]:5000/app", "[::1]:5000"],
  ])("%s → %s", (ref, host) => expect(registryOfReference(ref)).toBe(host));
});

describe("registry schemas", () => {
  it("a credential is username+password or an identity token, nothing else", () => {
    expect(RegistryCredentialSchema.safeParse({ username: "a", password: "b" }).success).toBe(true);
    expect(RegistryCredentialSchema.safeParse({ identityToken: "t" }).success).toBe(true);
    expect(RegistryCredentialSchema.safeParse({ username: "a" }).success).toBe(false);
    expect(
      RegistryCredentialSchema.safeParse({ username: "a", password: "b", extra: 1 }).success,
    ).toBe(false);
  });

  it("image.pull params and chunks are bounded", () => {
    expect(CommandSchemas["image.pull"].params.safeParse({ ref: "busybox" }).success).toBe(true);
    expect(CommandSchemas["image.pull"].params.safeParse({ ref: "Bad Ref" }).success).toBe(false);
    const p = {
      digest: `sha256:${"a".repeat(64)}`,
      kind: "layer",
      status: "done",
      done: 1,
      total: 1,
    };
    expect(ImageTransferChunkSchema.safeParse({ progress: [p] }).success).toBe(true);
    expect(
      ImageTransferChunkSchema.safeParse({ progress: Array.from({ length: 1025 }, () => p) })
        .success,
    ).toBe(false);
    expect(
      CommandSchemas["container.run"].params.safeParse({
        containerId: newContainerId(),
        name: "web",
        spec: { image: "busybox" },
        pull: { credential: { identityToken: "t" } },
      }).success,
    ).toBe(true);
  });
});
