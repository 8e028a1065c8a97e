"use client";
/**
 * Plays an asciicast v2 recording in xterm.js: play/pause, speed, seek (a slider and ±5 s).
 * Seeking resets the terminal and writes every output event up to that time at once (and the
 * last resize before it); playing schedules the following events with their recorded gaps,
 * divided by the speed. Idle gaps longer than 2 s are shortened to 2 s, as asciinema's
 * idle-time limit does. The terminal takes no input.
 */
import "@xterm/xterm/css/xterm.css";
import {
  ActionIcon,
  Badge,
  Box,
  Group,
  Paper,
  SegmentedControl,
  Slider,
  Text,
} from "@mantine/core";
import {
  IconPlayerPauseFilled,
  IconPlayerPlayFilled,
  IconPlayerSkipBack,
  IconRewindBackward5,
  IconRewindForward5,
} from "@tabler/icons-react";
import type { Terminal } from "@xterm/xterm";
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import type { AsciicastEvent, AsciicastHeader } from "@berth/core";

const IDLE_LIMIT_S = 2;
const SPEEDS = ["0.5", "1", "2", "4", "8"];

/** Events on a timeline whose idle gaps are capped (seconds from the start). */
export function compressIdle(events: AsciicastEvent[], limit = IDLE_LIMIT_S): AsciicastEvent[] {
  let last = 0;
  let shifted = 0;
  return events.map(([t, kind, data]) => {
    shifted += Math.min(t - last, limit);
    last = t;
    return [shifted, kind, data];
  });
}

function clock(s: number): string {
  const m = Math.floor(s / 60);
  const sec = Math.floor(s % 60);
  return `${m}:${String(sec).padStart(2, "0")}`;
}

export function RecordingPlayer({
  header,
  events: rawEvents,
}: {
  header: AsciicastHeader;
  events: AsciicastEvent[];
}) {
  const events = useMemo(() => compressIdle(rawEvents), [rawEvents]);
  const duration = events.length ? events[events.length - 1]![0] : 0;
  const hostRef = useRef<HTMLDivElement>(null);
  const termRef = useRef<Terminal | null>(null);
  /** Index of the next event to write. */
  const nextRef = useRef(0);
  const timerRef = useRef<ReturnType<typeof setTimeout> | null>(null);
  /** Wall-clock start of the current play run, and the position it started at. */
  const runRef = useRef<{ wall: number; from: number } | null>(null);
  const [ready, setReady] = useState(false);
  const [playing, setPlaying] = useState(false);
  const [speed, setSpeed] = useState("1");
  const [position, setPosition] = useState(0);
  const speedRef = useRef(1);

  // The terminal: made once on the client (xterm touches window).
  useEffect(() => {
    let disposed = false;
    void import("@xterm/xterm").then(({ Terminal }) => {
      if (disposed || !hostRef.current) return;
      const term = new Terminal({
        cols: header.width,
        rows: header.height,
        disableStdin: true,
        cursorBlink: false,
        convertEol: false,
        scrollback: 5000,
        fontFamily: "ui-monospace, SFMono-Regular, Menlo, Consolas, monospace",
        fontSize: 13,
      });
      term.open(hostRef.current);
      termRef.current = term;
      setReady(true);
    });
    return () => {
      disposed = true;
      if (timerRef.current) clearTimeout(timerRef.current);
      termRef.current?.dispose();
      termRef.current = null;
    };
  }, [header.width, header.height]);

  const apply = useCallback((e: AsciicastEvent) => {
    const term = termRef.current;
    if (!term) return;
    if (e[1] === "o") term.write(e[2]);
    else if (e[1] === "r") {
      const m = /^(\d+)x(\d+)$/.exec(e[2]);
      if (m) term.resize(Math.min(Number(m[1]), 500), Math.min(Number(m[2]), 300));
    }
  }, []);

  const stop = useCallback(() => {
    if (timerRef.current) clearTimeout(timerRef.current);
    timerRef.current = null;
    runRef.current = null;
    setPlaying(false);
  }, []);

  const schedule = useCallback(() => {
    const run = runRef.current;
    if (!run) return;
    const i = nextRef.current;
    if (i >= events.length) {
      setPosition(duration);
      stop();
      return;
    }
    const at = events[i]![0];
    const elapsed = ((performance.now() - run.wall) / 1000) * speedRef.current + run.from;
    const wait = Math.max(0, ((at - elapsed) * 1000) / speedRef.current);
    timerRef.current = setTimeout(
      () => {
        // Write every event that is due now in one go.
        const now = ((performance.now() - run.wall) / 1000) * speedRef.current + run.from;
        while (nextRef.current < events.length && events[nextRef.current]![0] <= now + 0.001)
          apply(events[nextRef.current++]!);
        setPosition(Math.min(now, duration));
        schedule();
      },
      Math.min(wait, 250),
    );
  }, [events, duration, apply, stop]);

  const play = useCallback(
    (from: number) => {
      if (nextRef.current >= events.length) return;
      runRef.current = { wall: performance.now(), from };
      setPlaying(true);
      schedule();
    },
    [events.length, schedule],
  );

  /** Jumps to `t` seconds: reset, then write everything up to it. */
  const seek = useCallback(
    (t: number) => {
      const term = termRef.current;
      if (!term) return;
      const wasPlaying = runRef.current !== null;
      if (timerRef.current) clearTimeout(timerRef.current);
      runRef.current = null;
      const to = Math.max(0, Math.min(t, duration));
      term.reset();
      term.resize(header.width, header.height);
      let i = 0;
      while (i < events.length && events[i]![0] <= to) apply(events[i++]!);
      nextRef.current = i;
      setPosition(to);
      if (wasPlaying && i < events.length) play(to);
      else setPlaying(false);
    },
    [duration, events, header.width, header.height, apply, play],
  );

  /** A speed change restarts the run from where it is (the gaps ahead use the new speed). */
  const changeSpeed = (v: string) => {
    const run = runRef.current;
    const at = run ? ((performance.now() - run.wall) / 1000) * speedRef.current + run.from : null;
    setSpeed(v);
    speedRef.current = Number(v);
    if (run && at !== null) {
      if (timerRef.current) clearTimeout(timerRef.current);
      play(Math.min(at, duration));
    }
  };

  const toggle = () => {
    if (playing) {
      stop();
      return;
    }
    if (nextRef.current >= events.length) {
      seek(0);
      play(0);
    } else play(position);
  };

  return (
    <Paper withBorder radius="md" p={0} data-testid="recording-player">
      <Group justify="space-between" px="md" py="xs" wrap="wrap" gap="sm">
        <Group gap="xs">
          <ActionIcon
            variant="filled"
            size="lg"
            onClick={toggle}
            disabled={!ready || events.length === 0}
            aria-label={playing ? "Pause" : "Play"}
            data-testid="recording-play"
          >
            {playing ? <IconPlayerPauseFilled size={18} /> : <IconPlayerPlayFilled size={18} />}
          </ActionIcon>
          <ActionIcon
            variant="default"
            size="lg"
            onClick={() => seek(0)}
            aria-label="Restart"
            disabled={!ready}
          >
            <IconPlayerSkipBack size={18} />
          </ActionIcon>
          <ActionIcon
            variant="default"
            size="lg"
            onClick={() => seek(position - 5)}
            aria-label="Back 5 seconds"
            disabled={!ready}
          >
            <IconRewindBackward5 size={18} />
          </ActionIcon>
          <ActionIcon
            variant="default"
            size="lg"
            onClick={() => seek(position + 5)}
            aria-label="Forward 5 seconds"
            disabled={!ready}
          >
            <IconRewindForward5 size={18} />
          </ActionIcon>
          <Text size="sm" ff="monospace" data-testid="recording-clock">
            {clock(position)} / {clock(duration)}
          </Text>
          <Badge variant="light" color={playing ? "green" : "gray"} data-testid="recording-status">
            {playing ? "playing" : position >= duration && duration > 0 ? "ended" : "paused"}
          </Badge>
        </Group>
        <SegmentedControl
          size="xs"
          aria-label="Speed"
          data={SPEEDS.map((s) => ({ value: s, label: `${s}×` }))}
          value={speed}
          onChange={changeSpeed}
        />
      </Group>
      <Box px="md" pb="xs">
        <Slider
          aria-label="Position"
          min={0}
          max={Math.max(duration, 0.001)}
          step={0.1}
          value={position}
          onChange={seek}
          label={(v) => clock(v)}
          disabled={!ready || duration === 0}
        />
      </Box>
      <Box
        style={{ overflow: "auto", background: "#000", padding: 6, maxHeight: "65vh" }}
        aria-label="Recorded terminal"
      >
        <div ref={hostRef} data-testid="recording-terminal" />
      </Box>
    </Paper>
  );
}
