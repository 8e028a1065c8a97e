import { appendFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { newContainerId } from "@berth/core";
import { memoryLogger } from "./logger";
import { OUTBOX_FILE, OUTBOX_SEQ_FILE, Outbox } from "./outbox";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "berth-outbox-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const removed = () => ({ id: newContainerId() });

describe("Outbox", () => {
  it("numbers events, keeps them on disk, and drops acked ones compactly", () => {
    const o = Outbox.open(dir, memoryLogger());
    const a = o.append("container.removed", removed());
    const b = o.append("container.removed", removed());
    const c = o.append("container.removed", removed());
    expect([a.seq, b.seq, c.seq]).toEqual([1, 2, 3]);
    expect(readFileSync(join(dir, OUTBOX_FILE), "utf8").trim().split("\n")).toHaveLength(3);
    expect(o.ack(2)).toBe(2);
    expect(o.pending().map((e) => e.seq)).toEqual([3]);
    expect(readFileSync(join(dir, OUTBOX_FILE), "utf8")).toBe(JSON.stringify(c) + "\n");
    expect(o.ack(2)).toBe(0);
    o.close();
  });

  it("keeps seq monotonic across reopen, even once everything was acked", () => {
    const o1 = Outbox.open(dir, memoryLogger());
    o1.append("container.removed", removed());
    o1.append("container.removed", removed());
    o1.ack(2);
    o1.close();
    expect(JSON.parse(readFileSync(join(dir, OUTBOX_SEQ_FILE), "utf8"))).toEqual({ lastSeq: 2 });
    const o2 = Outbox.open(dir, memoryLogger());
    expect(o2.size).toBe(0);
    expect(o2.append("container.removed", removed()).seq).toBe(3);
    o2.close();
    const o3 = Outbox.open(dir, memoryLogger());
    expect(o3.pending().map((e) => e.seq)).toEqual([3]);
    expect(o3.append("container.removed", removed()).seq).toBe(4);
    o3.close();
  });

  it("skips a torn last line left by a crash and keeps the good entries", () => {
    const o1 = Outbox.open(dir, memoryLogger());
    o1.append("container.removed", removed());
    o1.close();
    appendFileSync(join(dir, OUTBOX_FILE), '{"seq":2,"name":"container.remo');
    const log = memoryLogger();
    const o2 = Outbox.open(dir, log);
    expect(o2.pending().map((e) => e.seq)).toEqual([1]);
    expect(log.records.some((r) => r.msg === "outbox: skipped unreadable lines")).toBe(true);
    expect(o2.append("container.removed", removed()).seq).toBe(2);
    o2.close();
    expect(
      Outbox.open(dir, memoryLogger())
        .pending()
        .map((e) => e.seq),
    ).toEqual([1, 2]);
  });

  it("renumbers pending events above a server ackedSeq it never issued instead of dropping them", () => {
    const o = Outbox.open(dir, memoryLogger());
    o.append("container.removed", removed());
    o.append("container.removed", removed());
    expect(o.reconcile(10)).toEqual({ dropped: 0, renumbered: 2 });
    expect(o.pending().map((e) => e.seq)).toEqual([11, 12]);
    expect(o.append("container.removed", removed()).seq).toBe(13);
    expect(o.reconcile(12)).toEqual({ dropped: 2, renumbered: 0 });
    o.close();
  });
});
