import { describe, expect, it } from "vitest";
import type { ContainerEvent } from "@berth/core";
import { UsageError } from "../errors";
import {
  eventJson,
  eventsInput,
  formatEventLine,
  parseEventFilters,
  rfc3339Nano,
} from "./events.command";

const ID = "3f2a".padEnd(64, "b");

const die: ContainerEvent = {
  timeNano: "1795811001123456789",
  type: "container",
  action: "die",
  id: ID,
  name: "web",
  image: "busybox",
  node: "node-1",
  exitCode: 0,
};

describe("berth events formatting", () => {
  it("prints RFC 3339 UTC with nanoseconds", () => {
    expect(rfc3339Nano("1795811001123456789")).toBe("2026-11-27T20:23:21.123456789Z");
    expect(rfc3339Nano("1795811001000000007")).toBe("2026-11-27T20:23:21.000000007Z");
  });

  it("prints docker's line: time, type, action, full id, sorted attributes", () => {
    expect(formatEventLine(die)).toBe(
      `2026-11-27T20:23:21.123456789Z container die ${ID} (exitCode=0, image=busybox, name=web, node=node-1)`,
    );
    const { exitCode: _unused, ...start } = die;
    expect(formatEventLine({ ...start, action: "start" })).toBe(
      `2026-11-27T20:23:21.123456789Z container start ${ID} (image=busybox, name=web, node=node-1)`,
    );
    expect(formatEventLine({ ...start, action: "health_status: healthy" })).toContain(
      `container health_status: healthy ${ID} (`,
    );
  });

  it("prints docker's JSON message shape", () => {
    expect(JSON.parse(eventJson(die))).toEqual({
      status: "die",
      id: ID,
      from: "busybox",
      Type: "container",
      Action: "die",
      Actor: { ID, Attributes: { exitCode: "0", image: "busybox", name: "web", node: "node-1" } },
      scope: "local",
      time: 1795811001,
      timeNano: 1795811001123456800,
    });
  });

  it("accepts container= and event= filters only", () => {
    expect(parseEventFilters(["container=web", "event=die", "container=3f2a"])).toEqual({
      containers: ["web", "3f2a"],
      events: ["die"],
    });
    expect(() => parseEventFilters(["image=busybox"])).toThrow(UsageError);
    expect(() => parseEventFilters(["container="])).toThrow(/needs a value/);
    expect(() => parseEventFilters(["event="])).toThrow(/needs a value/);
  });
});

describe("berth events --since/--until", () => {
  const now = new Date("2026-11-27T20:00:00.000Z");

  it("sends no times for a live-only stream", () => {
    expect(eventsInput({ filter: [] }, now)).toEqual({});
    expect(eventsInput({ filter: ["container=web", "event=start"] }, now)).toEqual({
      containers: ["web"],
      events: ["start"],
    });
  });

  it("takes durations, Unix seconds and RFC 3339 instants", () => {
    expect(eventsInput({ since: "10m", filter: [] }, now)).toEqual({
      since: "2026-11-27T19:50:00.000Z",
    });
    expect(
      eventsInput({ since: "1700000000", until: "2026-11-27T19:59:00Z", filter: [] }, now),
    ).toEqual({ since: "2023-11-14T22:13:20.000000000Z", until: "2026-11-27T19:59:00Z" });
    expect(eventsInput({ until: "1h", filter: [] }, now)).toEqual({
      until: "2026-11-27T19:00:00.000Z",
    });
  });

  it("refuses bad times and an --until before --since", () => {
    expect(() => eventsInput({ since: "yesterday", filter: [] }, now)).toThrow(
      /invalid argument "yesterday" for "--since" flag/,
    );
    expect(() => eventsInput({ since: "5m", until: "10m", filter: [] }, now)).toThrow(
      /--until must not be before --since/,
    );
  });
});
