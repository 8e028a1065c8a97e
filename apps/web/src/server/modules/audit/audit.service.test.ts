import { describe, expect, it } from "vitest";
import { createTestDb } from "@berth/db/test-helpers";
import { AuditService, redactSecrets } from "./audit.service";

describe("audit", () => {
  it("redacts passwords, tokens and environment values at any depth", () => {
    expect(
      redactSecrets({
        username: "admin",
        password: "hunter2",
        nested: { apiToken: "berth_x", list: [{ secret: 1, keep: "yes" }] },
        spec: { image: "busybox", env: ["DB_PASSWORD=hunter2", "MODE=prod"] },
      }),
    ).toEqual({
      username: "admin",
      password: "[redacted]",
      nested: { apiToken: "[redacted]", list: [{ secret: "[redacted]", keep: "yes" }] },
      spec: { image: "busybox", env: ["DB_PASSWORD=[redacted]", "MODE=[redacted]"] },
    });
  });

  it("stores redacted rows", () => {
    const db = createTestDb();
    const audit = new AuditService(db);
    audit.record({
      actorId: null,
      actorName: "someone",
      teamId: null,
      action: "auth.login",
      target: "someone",
      params: { username: "someone", password: "p" },
      result: "denied",
      error: "invalid username or password",
      address: "127.0.0.1",
    });
    const [row] = audit.recent();
    expect(row).toMatchObject({
      action: "auth.login",
      result: "denied",
      params: { username: "someone", password: "[redacted]" },
    });
    db.$client.close();
  });
});
