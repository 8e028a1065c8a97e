/**
 * V8 heap settings for the berth-server process, applied by server.ts at start (so every way of
 * launching it — `npm start`, scripts/launch.ts, the systemd unit — gets them) and by the
 * registry benchmarks, whose in-process server must run as the real one does.
 *
 * Why: every socket read of a request body becomes a fresh Buffer outside the JS heap (Node's
 * HTTP parser copies each body segment, ~50 KiB from skopeo or docker), so a 100 MB blob upload
 * allocates ~100 MB of "external" memory that only a scavenge frees — and V8 forces one only
 * every ~32 MB of such young backing stores. V8 counts the external bytes allocated since the
 * last mark-compact against the old generation's headroom; after an idle period (the memory
 * reducer) that headroom is ~1.1× the live heap, a few MB, so during an upload V8 started
 * incremental marking over and over and ran a full mark-compact every ~20 MB received, each
 * freeing nothing on the JS heap: 4–8 of them per 100 MB push, ≈0.15 s of the server's
 * ≈0.55 s CPU (bench/registry-push-profile.ts). A fixed growing factor of 3 (the old
 * generation may grow to 3× what survived the last mark-compact) gives that headroom back —
 * at least 2× the live heap, more than the ~32 MB of young buffers V8 lets pile up before its
 * scavenge, for any heap past ~16 MB — and uploads then cost scavenges only (measured: 0
 * mark-compacts per 100 MB push, server CPU ≈0.3–0.35 s; factor 2 still left 0–4 per push on the
 * bench's 21 MB heap). The price is memory: up to 3× the live heap before a full GC, within
 * the range V8's own dynamic factor picks (1.1–4) when the process is busy;
 * `--max-old-space-size` still caps it.
 */
import { setFlagsFromString } from "node:v8";

/** The flags, as they would be written on node's command line. */
export const SERVER_V8_FLAGS = ["--heap-growing-percent=200"] as const;

/**
 * Applies SERVER_V8_FLAGS to this process (V8 reads the growing factor at every GC, so setting
 * it at start is enough; node does not freeze V8 flags after start). Idempotent.
 */
export function tuneServerGc(): void {
  for (const flag of SERVER_V8_FLAGS) setFlagsFromString(flag);
}
