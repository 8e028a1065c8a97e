/**
 * What a team may see of a node's images (image-claims.ts): the reference forms the agent lists,
 * the system image, and resolution by name, id and id prefix among visible images only.
 */
import { describe, expect, it } from "vitest";
import type { ImageClaimRow } from "@berth/db";
import {
  assertRefFree,
  familiarRef,
  isSystemImage,
  resolveVisible,
  visibleRows,
  type NodeImages,
} from "./image-claims";

const A = "team-a";
const B = "team-b";
const DA = `sha256:${"ab".repeat(6)}${"1".repeat(52)}`;
const DB = `sha256:${"ab".repeat(6)}${"2".repeat(52)}`;
const DS = `sha256:${"5".repeat(64)}`;

function claim(teamId: string, ref: string, digest: string): ImageClaimRow {
  return { nodeId: "n", teamId, ref, digest, createdBy: null, createdAt: new Date(0) };
}
const row = (ref: string, digest: string, createdAt = "2026-01-02T03:04:05Z") => ({
  ref,
  digest,
  size: 1,
  createdAt,
});

const node: NodeImages = {
  rows: [
    row("busybox:latest", DS, "1970-01-01T00:00:00Z"),
    row("app:1", DA),
    row("reg.local:5000/b/tool:2", DB),
    row("legacy:1", DB),
  ],
  claims: [claim(A, "app:1", DA), claim(B, "reg.local:5000/b/tool:2", DB)],
};
const alice = { id: "u1", isAdmin: false, teamId: A };
const bob = { id: "u2", isAdmin: false, teamId: B };

describe("image claims", () => {
  it("names references the way the agent lists them", () => {
    expect(familiarRef("busybox")).toBe("busybox:latest");
    expect(familiarRef("docker.io/library/busybox:1.36")).toBe("busybox:1.36");
    expect(familiarRef("index.docker.io/user/app")).toBe("user/app:latest");
    expect(familiarRef("user/app:2")).toBe("user/app:2");
    expect(familiarRef("localhost:5000/t/app")).toBe("localhost:5000/t/app:latest");
    expect(familiarRef(`reg.local:5000/t/app@${DS}`)).toBe(`reg.local:5000/t/app@${DS}`);
  });

  it("the seeded busybox is everybody's until a team puts its own image under that name", () => {
    expect(isSystemImage(node.rows[0]!, node.claims)).toBe(true);
    expect(isSystemImage(row("busybox:latest", DS), node.claims)).toBe(false);
    expect(isSystemImage(node.rows[0]!, [claim(B, "busybox:latest", DS)])).toBe(false);
  });

  it("a team sees its own names and the system image; an administrator everything", () => {
    expect(visibleRows(alice, node).map((r) => r.ref)).toEqual(["busybox:latest", "app:1"]);
    expect(visibleRows(bob, node).map((r) => r.ref)).toEqual([
      "busybox:latest",
      "reg.local:5000/b/tool:2",
    ]);
    expect(visibleRows({ ...alice, isAdmin: true }, node)).toHaveLength(4);
  });

  it("a name another team holds elsewhere is out of sight once the node's name moved", () => {
    const moved: NodeImages = { ...node, rows: [row("app:1", DB)] };
    expect(visibleRows(alice, moved)).toEqual([]);
  });

  it("resolves names and id prefixes among visible images only", () => {
    expect(resolveVisible(alice, node, "app:1")).toEqual({
      digest: DA,
      ref: "app:1",
      agentRef: "app:1",
    });
    // "abababababab" prefixes both DA and DB; only DA is Alice's, so it is not ambiguous for her.
    expect(resolveVisible(alice, node, "abababababab").digest).toBe(DA);
    expect(() => resolveVisible(alice, node, "reg.local:5000/b/tool:2")).toThrow(
      /not found on this node/,
    );
    expect(() => resolveVisible(alice, node, DB)).toThrow(/not found/);
    expect(() => resolveVisible(bob, node, "legacy:1")).toThrow(/not found/);
    expect(() => resolveVisible({ ...alice, isAdmin: true }, node, "abababababab")).toThrow(
      /ambiguous/,
    );
  });

  it("a team may not point a name the node has and it does not hold", () => {
    expect(() => assertRefFree(bob, node, "app:1")).toThrow(/already used on this node/);
    expect(() => assertRefFree(bob, node, "busybox")).toThrow(/already used/);
    expect(() => assertRefFree(alice, node, "app:1")).not.toThrow();
    expect(() => assertRefFree(alice, node, "new:1")).not.toThrow();
    expect(() => assertRefFree({ ...bob, isAdmin: true }, node, "app:1")).not.toThrow();
  });
});
