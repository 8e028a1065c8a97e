import { describe, expect, it } from "vitest";
import { buildRunInput, defaultRunFormValues } from "./run-form";

const form = (over: Partial<ReturnType<typeof defaultRunFormValues>>) => ({
  ...defaultRunFormValues(),
  ...over,
});

describe("buildRunInput", () => {
  it("builds the minimal input from the defaults (busybox, image command)", () => {
    expect(buildRunInput(defaultRunFormValues())).toEqual({
      ok: true,
      input: { autoRemove: false, spec: { image: "busybox", limits: {} } },
    });
  });

  it("splits the command shell-like and parses limits", () => {
    const r = buildRunInput(
      form({
        command: `sh -c 'echo "hi there"'`,
        name: "web-1",
        node: "n1",
        memory: "64m",
        pidsLimit: "32",
        autoRemove: true,
      }),
    );
    expect(r).toEqual({
      ok: true,
      input: {
        name: "web-1",
        node: "n1",
        autoRemove: true,
        spec: {
          image: "busybox",
          command: ["sh", "-c", `echo "hi there"`],
          limits: { memoryBytes: 64 * 1024 * 1024, pidsLimit: 32 },
        },
      },
    });
  });

  it("reports one message per bad field", () => {
    const r = buildRunInput(
      form({
        image: "Not An Image",
        command: "echo 'x",
        name: "-bad",
        memory: "lots",
        pidsLimit: "1.5",
      }),
    );
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.image).toBe("invalid image reference");
    expect(r.errors.command).toMatch(/unterminated single quote/);
    expect(r.errors.name).toMatch(/container names use/);
    expect(r.errors.memory).toMatch(/invalid size "lots"/);
    expect(r.errors.pidsLimit).toBe("the PIDs limit is a whole number");
  });

  it("applies the schema's limits (memory at least 6 MiB, an image is required)", () => {
    const r = buildRunInput(form({ image: " ", memory: "1m" }));
    expect(r).toEqual({
      ok: false,
      errors: { image: "an image is required", memory: "the memory limit must be at least 6 MiB" },
    });
  });
});
