import { describe, expect, it } from "vitest";
import { ContainerEventsInputSchema, eventActionMatches, rfc3339ToNanos } from "./container-events";

describe("containers.events input", () => {
  it("reads RFC 3339 instants exactly to the nanosecond, zones included", () => {
    expect(rfc3339ToNanos("2023-11-14T22:13:20Z")).toBe(1_700_000_000_000_000_000n);
    expect(rfc3339ToNanos("2023-11-14T22:13:20.000000001Z")).toBe(1_700_000_000_000_000_001n);
    expect(rfc3339ToNanos("2023-11-14T23:13:20.5+01:00")).toBe(1_700_000_000_500_000_000n);
    expect(() => rfc3339ToNanos("yesterday")).toThrow(/not an RFC 3339 instant/);
  });

  it("matches event= filters on the action or its part before the colon", () => {
    expect(eventActionMatches("die", undefined)).toBe(true);
    expect(eventActionMatches("die", ["die", "start"])).toBe(true);
    expect(eventActionMatches("oom", ["die"])).toBe(false);
    expect(eventActionMatches("health_status: healthy", ["health_status"])).toBe(true);
    expect(eventActionMatches("health_status: healthy", ["health_status: unhealthy"])).toBe(false);
  });

  it("refuses zoneless times", () => {
    expect(ContainerEventsInputSchema.safeParse({ since: "2026-01-02T00:00:00" }).success).toBe(
      false,
    );
    expect(ContainerEventsInputSchema.parse({ until: "2026-01-02T00:00:00Z" })).toEqual({
      until: "2026-01-02T00:00:00Z",
    });
  });
});
