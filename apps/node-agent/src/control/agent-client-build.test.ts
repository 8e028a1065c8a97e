/**
 * `image.build` in the protocol client: the context arrives in `stream_input` frames like an
 * `image.load` archive; the engine's progress lines go out as `{progress}` chunks, then
 * `{built}`; bad params end the stream with invalid_input before the engine is called. (The
 * builder itself runs real RUN steps in images/build/builder.integration.test.ts.)
 */
import { describe, expect, it } from "vitest";
import { useConnectedClient } from "./test-helpers/connected-client";
import { RecordingHandler } from "./test-helpers/recording-handler";

const { connected } = useConnectedClient("berth-agent-build-");

describe("image.build over the protocol", () => {
  it("feeds the context to the engine, relays progress lines, then the result", async () => {
    const handler = new RecordingHandler();
    const conn = await connected(handler);
    const params = { tags: ["app:1"], dockerfile: "build/Dockerfile", buildArgs: { V: "2" } };
    conn.send({ type: "command", id: "b-1", name: "image.build", params });
    const context = Buffer.alloc(300_000, 7);
    for (let i = 0; i < context.length; i += 60_000)
      conn.send({
        type: "stream_input",
        id: "b-1",
        data: context.subarray(i, i + 60_000).toString("base64"),
      });
    conn.send({ type: "stream_input", id: "b-1", eof: true });
    const end = await conn.waitFor((f) => f.type === "stream_end" && f.id === "b-1");
    expect(end).toEqual({ type: "stream_end", id: "b-1" });
    const chunks = conn.frames.flatMap((f) =>
      f.type === "stream" && f.id === "b-1" ? [f.data as Record<string, unknown>] : [],
    );
    expect(chunks.filter((c) => "progress" in c)).toEqual([
      { progress: "#1 context 300000 bytes" },
    ]);
    expect(chunks.at(-1)).toEqual({
      built: { digest: `sha256:${"b".repeat(64)}`, tags: ["app:1"], steps: [], warnings: [] },
    });
    expect(handler.calls.find((c) => c.method === "imageBuild")?.args).toEqual({
      ...params,
      allowHostNetwork: false,
    });
  });

  it("refuses a Dockerfile path that leaves the context before calling the engine", async () => {
    const handler = new RecordingHandler();
    const conn = await connected(handler);
    conn.send({
      type: "command",
      id: "b-2",
      name: "image.build",
      params: { tags: [], dockerfile: "../Dockerfile" },
    });
    const end = await conn.waitFor((f) => f.type === "stream_end" && f.id === "b-2");
    expect(end).toMatchObject({
      error: { kind: "invalid_input", message: expect.stringContaining("inside it") },
    });
    expect(handler.calls.filter((c) => c.method === "imageBuild")).toEqual([]);
  });
});
