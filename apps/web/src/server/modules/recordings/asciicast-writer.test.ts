/** The asciicast v2 writer: header, escaping, timing, resizes, the byte cap and its marker. */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseAsciicast } from "@berth/core";
import { AsciicastWriter, TRUNCATED_MARKER, utf8Prefix } from "./asciicast-writer";

describe("AsciicastWriter", () => {
  let dir: string;
  let clock: number;
  const now = () => clock;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "berth-cast-"));
    clock = 1000;
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const header = { version: 2 as const, width: 80, height: 24, timestamp: 1_700_000_000 };

  it("writes a header line, then [time, kind, data] lines with escaped data", async () => {
    const path = join(dir, "a.cast");
    const w = new AsciicastWriter(path, header, { maxBytes: 1 << 20, now });
    clock += 250;
    w.output('hi "there"\r\n\x1b[31mred\x1b[0m\\');
    clock += 1500.1234;
    w.resize(120, 40);
    clock += 0.5;
    w.output("é✓\n");
    expect(await w.close()).toEqual({ bytes: 31, truncated: false, droppedBytes: 0 });
    const text = readFileSync(path, "utf8");
    const lines = text.trimEnd().split("\n");
    expect(JSON.parse(lines[0]!)).toEqual(header);
    // Control characters are JSON escapes, never raw bytes in the file.
    expect(lines[1]).toBe(String.raw`[0.25,"o","hi \"there\"\r\n\u001b[31mred\u001b[0m\\"]`);
    expect(text).not.toContain("\x1b");
    expect(parseAsciicast(text).events).toEqual([
      [0.25, "o", 'hi "there"\r\n\x1b[31mred\x1b[0m\\'],
      [1.750123, "r", "120x40"],
      [1.750623, "o", "é✓\n"],
    ]);
  });

  it("stops at the cap: the crossing chunk is cut on a character boundary, then a marker", async () => {
    const path = join(dir, "b.cast");
    const w = new AsciicastWriter(path, header, { maxBytes: 10, now });
    w.output("12345678");
    w.output("é✓tail"); // é = 2 bytes fits (10), ✓ = 3 bytes does not
    w.output("more output");
    w.resize(90, 30);
    const totals = await w.close();
    expect(totals).toEqual({ bytes: 10, truncated: true, droppedBytes: 3 + 4 + 11 });
    const { events } = parseAsciicast(readFileSync(path, "utf8"));
    const out = events.filter((e) => e[1] === "o").map((e) => e[2]);
    expect(out[0]).toBe("12345678");
    expect(out[1]).toBe("é");
    expect(out[2]).toMatch(/recording stopped at 10 bytes/);
    expect(out).toHaveLength(3);
    expect(events.filter((e) => e[1] === "m")).toEqual([[0, "m", TRUNCATED_MARKER]]);
    // Resizes are still kept after the cap.
    expect(events.at(-1)).toEqual([0, "r", "90x30"]);
  });

  it("refuses to overwrite an existing file", async () => {
    const path = join(dir, "c.cast");
    await new AsciicastWriter(path, header, { maxBytes: 10, now }).close();
    const again = new AsciicastWriter(path, header, { maxBytes: 10, now });
    await expect(again.close()).rejects.toThrow(/EEXIST/);
  });

  it("utf8Prefix never splits a character", () => {
    expect(utf8Prefix("a✓b", 2)).toBe("a");
    expect(utf8Prefix("a✓b", 4)).toBe("a✓");
    expect(utf8Prefix("abc", 10)).toBe("abc");
    expect(utf8Prefix("abc", 0)).toBe("");
  });
});
