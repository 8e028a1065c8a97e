"use client";
/**
 * A terminal in the browser: xterm.js attached to an interactive `exec` (tty + stdin) of a
 * running container, through the same server session as everything else — output comes on the
 * `containers.exec` subscription, keys / pastes / resizes go back through
 * `containers.execInput` (lib/terminal-input.ts). xterm.js touches `window`, so it is imported
 * only on the client, when a session starts.
 *
 * Copy/paste: select with the mouse and press Ctrl+Shift+C (or use the browser's copy), paste
 * with Ctrl+Shift+V (or the browser's paste, which xterm takes through its textarea).
 */
import "@xterm/xterm/css/xterm.css";
import { Alert, Badge, Box, Button, Group, Paper, Select, Text, TextInput } from "@mantine/core";
import type { FitAddon } from "@xterm/addon-fit";
import type { Terminal } from "@xterm/xterm";
import { useCallback, useEffect, useRef, useState } from "react";
import { ArgvSyntaxError, splitArgv } from "@/lib/argv";
import { errorMessage } from "@/lib/errors";
import { TerminalInputQueue } from "@/lib/terminal-input";
import { useTRPCClient } from "@/lib/trpc";
import { PanelBar } from "./panel-bar";

type Phase =
  | { phase: "idle" }
  | { phase: "connecting" }
  | { phase: "open" }
  | { phase: "exited"; code: number | null }
  | { phase: "error"; message: string };

const SHELLS = [
  { value: "sh", label: "sh" },
  { value: "bash", label: "bash" },
  { value: "custom", label: "Custom command…" },
];

/** The argv of the picked shell; throws ArgvSyntaxError for a bad custom command. */
export function shellArgv(shell: string, custom: string): string[] {
  if (shell === "custom") {
    const argv = splitArgv(custom);
    if (argv.length === 0) throw new ArgvSyntaxError("type the command to run");
    return argv;
  }
  return [`/bin/${shell}`];
}

interface Session {
  term: Terminal;
  fit: FitAddon;
  queue: TerminalInputQueue;
  unsubscribe: () => void;
  observer: ResizeObserver;
}

export function ContainerTerminal({
  containerRef,
  running,
  disabledReason,
}: {
  containerRef: string;
  running: boolean;
  /** Why the caller may not open a terminal (lacks container.exec); null when allowed. */
  disabledReason: string | null;
}) {
  const client = useTRPCClient();
  const hostRef = useRef<HTMLDivElement>(null);
  const session = useRef<Session | null>(null);
  const [phase, setPhase] = useState<Phase>({ phase: "idle" });
  const [shell, setShell] = useState("sh");
  const [custom, setCustom] = useState("");
  const [customError, setCustomError] = useState<string | null>(null);

  const stop = useCallback(() => {
    const s = session.current;
    session.current = null;
    if (!s) return;
    s.queue.close();
    s.unsubscribe();
    s.observer.disconnect();
    s.term.options.disableStdin = true;
  }, []);

  // Leaving the page (or the tab) ends the session; the server then cancels the agent's exec.
  useEffect(
    () => () => {
      const s = session.current;
      stop();
      s?.term.dispose();
    },
    [stop],
  );

  const start = useCallback(async () => {
    let argv: string[];
    try {
      argv = shellArgv(shell, custom);
      setCustomError(null);
    } catch (e) {
      setCustomError(e instanceof Error ? e.message : String(e));
      return;
    }
    const host = hostRef.current;
    if (!host) return;
    const old = session.current;
    stop();
    old?.term.dispose();
    setPhase({ phase: "connecting" });
    const [{ Terminal }, { FitAddon }] = await Promise.all([
      import("@xterm/xterm"),
      import("@xterm/addon-fit"),
    ]);
    host.replaceChildren();
    const term = new Terminal({
      cursorBlink: true,
      convertEol: false,
      fontFamily: "ui-monospace, SFMono-Regular, Menlo, Consolas, monospace",
      fontSize: 13,
      scrollback: 5000,
    });
    const fit = new FitAddon();
    term.loadAddon(fit);
    term.open(host);
    fit.fit();
    let sessionId: string | null = null;
    // Held until the session id arrives: keys and resizes before it are sent then.
    const queue = new TerminalInputQueue(
      (m) => client.containers.execInput.mutate({ sessionId: sessionId!, ...m }),
      (e) => term.write(`\r\n\x1b[31m[input failed: ${errorMessage(e)}]\x1b[0m\r\n`),
      { held: true },
    );
    term.attachCustomKeyEventHandler((ev) => {
      if (ev.type !== "keydown" || !ev.ctrlKey || !ev.shiftKey) return true;
      if (ev.code === "KeyC") {
        const sel = term.getSelection();
        if (sel) void navigator.clipboard?.writeText(sel).catch(() => undefined);
        return false;
      }
      if (ev.code === "KeyV") {
        void navigator.clipboard
          ?.readText()
          .then((t) => term.paste(t))
          .catch(() => undefined);
        return false;
      }
      return true;
    });
    term.onData((d) => queue.write(d));
    term.onResize((size) => queue.setSize(size));
    const observer = new ResizeObserver(() => {
      try {
        fit.fit();
      } catch {
        /* not laid out (hidden tab) */
      }
    });
    observer.observe(host);
    const sub = client.containers.exec.subscribe(
      {
        ref: containerRef,
        argv,
        tty: true,
        interactive: true,
        size: { cols: term.cols, rows: term.rows },
      },
      {
        onData: (chunk) => {
          if (chunk.sessionId !== undefined) {
            sessionId = chunk.sessionId;
            queue.release();
            setPhase({ phase: "open" });
            term.focus();
            return;
          }
          if (chunk.stdout !== undefined) term.write(chunk.stdout);
          if (chunk.stderr !== undefined) term.write(chunk.stderr);
          if (chunk.exitCode !== undefined) {
            term.write(`\r\n\x1b[2m[process exited with code ${chunk.exitCode}]\x1b[0m\r\n`);
            setPhase({ phase: "exited", code: chunk.exitCode });
          }
        },
        onError: (err) => {
          setPhase({ phase: "error", message: errorMessage(err) });
          stop();
        },
        // An error before the stream starts comes as a connection error (the SSE link would
        // retry for ever): show it and stop.
        onConnectionStateChange: (state) => {
          if (state.state !== "connecting" || !state.error) return;
          setPhase({ phase: "error", message: errorMessage(state.error) });
          stop();
        },
        onComplete: () => {
          setPhase((p) =>
            p.phase === "exited" || p.phase === "error" ? p : { phase: "exited", code: null },
          );
          stop();
        },
      },
    );
    session.current = { term, fit, queue, unsubscribe: () => sub.unsubscribe(), observer };
  }, [client, containerRef, shell, custom, stop]);

  const disconnect = useCallback(() => {
    stop();
    setPhase({ phase: "exited", code: null });
  }, [stop]);

  const active = phase.phase === "connecting" || phase.phase === "open";
  const blocked = disabledReason ?? (running ? null : "the container is not running");

  return (
    <Paper withBorder radius="md" p={0}>
      <PanelBar
        title="Terminal"
        status={
          <Badge
            variant="light"
            data-testid="terminal-status"
            color={
              phase.phase === "open"
                ? "green"
                : phase.phase === "error"
                  ? "red"
                  : phase.phase === "connecting"
                    ? "blue"
                    : "gray"
            }
          >
            {phase.phase === "open"
              ? "connected"
              : phase.phase === "exited"
                ? phase.code === null
                  ? "closed"
                  : `exited ${phase.code}`
                : phase.phase}
          </Badge>
        }
      >
        <Group gap="xs" align="flex-end">
          <Select
            size="xs"
            aria-label="Shell"
            data={SHELLS}
            value={shell}
            onChange={(v) => setShell(v ?? "sh")}
            allowDeselect={false}
            disabled={active}
            w={170}
          />
          {shell === "custom" && (
            <TextInput
              size="xs"
              aria-label="Command"
              placeholder="/bin/ash -l"
              value={custom}
              onChange={(e) => setCustom(e.currentTarget.value)}
              error={customError}
              disabled={active}
              w={200}
            />
          )}
          {active ? (
            <Button size="xs" variant="default" onClick={disconnect}>
              Disconnect
            </Button>
          ) : (
            <Button
              size="xs"
              onClick={() => void start()}
              disabled={blocked !== null}
              title={blocked ?? undefined}
            >
              {phase.phase === "idle" ? "Connect" : "Reconnect"}
            </Button>
          )}
        </Group>
      </PanelBar>
      {blocked !== null && !active && (
        <Text px="md" py="xs" size="sm" c="dimmed" data-testid="terminal-disabled">
          Terminal unavailable: {blocked}.
        </Text>
      )}
      <Box
        ref={hostRef}
        data-testid="terminal"
        aria-label="Container terminal"
        style={{
          height: "min(60vh, 480px)",
          padding: 6,
          background: "#000",
          display: phase.phase === "idle" ? "none" : "block",
        }}
      />
      {phase.phase === "idle" && blocked === null && (
        <Text px="md" py="lg" size="sm" c="dimmed">
          Pick a shell and press Connect to open a terminal in the container (Ctrl+Shift+C / V copy
          and paste).
        </Text>
      )}
      {phase.phase === "error" && (
        <Alert color="red" radius={0} role="alert" title="Terminal failed">
          {phase.message}
        </Alert>
      )}
    </Paper>
  );
}
