"use client";
import { Alert, Button, Code, FileInput, ScrollArea, TextInput } from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { IconHammer } from "@tabler/icons-react";
import { useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { ImageRefSchema, shortImageId } from "@berth/core";
import { useTRPC } from "@/lib/trpc";
import { FormModal } from "./form-modal";
import { csrfHeaders } from "@/lib/csrf";

type BuildLine = {
  progress?: string;
  built?: { digest: string; tags: string[] };
  error?: { message: string };
};

/**
 * "Build image": a context tar (what `tar -cf ctx.tar -C DIR .` makes) uploaded to
 * POST /api/images/build, with the build's output shown line by line as it runs.
 */
export function BuildImageButton() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [opened, setOpened] = useState(false);
  const [file, setFile] = useState<File | null>(null);
  const [tag, setTag] = useState("");
  const [dockerfile, setDockerfile] = useState("Dockerfile");
  const [lines, setLines] = useState<string[]>([]);
  const [running, setRunning] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const validTag = tag.trim() === "" || ImageRefSchema.safeParse(tag.trim()).success;

  const start = async () => {
    if (!file) return;
    setRunning(true);
    setError(null);
    setLines([]);
    const q = new URLSearchParams();
    if (tag.trim() !== "") q.append("t", tag.trim());
    if (dockerfile.trim() !== "" && dockerfile.trim() !== "Dockerfile")
      q.append("file", dockerfile.trim());
    try {
      const res = await fetch(`/api/images/build?${q.toString()}`, {
        method: "POST",
        headers: { "content-type": "application/x-tar", ...csrfHeaders() },
        body: file,
      });
      if (!res.ok || !res.body) {
        const body = (await res.json().catch(() => null)) as BuildLine | null;
        throw new Error(body?.error?.message ?? `the server answered HTTP ${res.status}`);
      }
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let pending = "";
      let built: BuildLine["built"];
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        pending += value;
        const parts = pending.split("\n");
        pending = parts.pop() ?? "";
        for (const p of parts) {
          if (p.trim() === "") continue;
          const o = JSON.parse(p) as BuildLine;
          if (o.progress !== undefined) setLines((l) => [...l, o.progress!]);
          if (o.built) built = o.built;
          if (o.error) throw new Error(o.error.message);
        }
      }
      if (!built) throw new Error("the build ended without a result");
      notifications.show({
        color: "green",
        title: "Image built",
        message: `${shortImageId(built.digest)}${built.tags.length ? ` tagged ${built.tags.join(", ")}` : ""}`,
      });
      void queryClient.invalidateQueries({ queryKey: trpc.images.pathKey() });
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setRunning(false);
    }
  };

  return (
    <>
      <Button
        variant="light"
        leftSection={<IconHammer size={16} aria-hidden />}
        onClick={() => setOpened(true)}
      >
        Build image
      </Button>
      <FormModal
        opened={opened}
        onClose={() => !running && setOpened(false)}
        title="Build an image"
        size="xl"
        onSubmit={() => {
          void start();
        }}
        submitLabel="Build"
        submitDisabled={!file || !validTag}
        pending={running}
        cancelLabel="Close"
        cancelDisabled={running}
      >
        <FileInput
          label="Build context"
          description="A tar of the context directory: tar -cf context.tar -C DIR ."
          placeholder="Choose a .tar file"
          accept=".tar,.tar.gz,.tgz,application/x-tar,application/gzip"
          value={file}
          onChange={setFile}
          clearable
        />
        <TextInput
          label="Tag"
          placeholder="app:1"
          value={tag}
          onChange={(e) => setTag(e.currentTarget.value)}
          error={validTag ? null : "not a valid image reference"}
        />
        <TextInput
          label="Dockerfile"
          description="Its path inside the context"
          value={dockerfile}
          onChange={(e) => setDockerfile(e.currentTarget.value)}
        />
        {lines.length > 0 && (
          <ScrollArea.Autosize mah={280}>
            <Code block data-testid="build-output">
              {lines.join("\n")}
            </Code>
          </ScrollArea.Autosize>
        )}
        {error && (
          <Alert color="red" title="The build failed" role="alert">
            {error}
          </Alert>
        )}
      </FormModal>
    </>
  );
}
