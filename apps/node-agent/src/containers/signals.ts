/**
 * Signals for `kill -s` and the image's StopSignal: normalized with SignalSchema and checked
 * against the signals this host knows, so runc never gets a name it would reject late.
 */
import { constants } from "node:os";
import { DomainError, SignalSchema } from "@berth/core";
import type { ImageConfig } from "../images/oci";

const KNOWN = new Set(Object.keys(constants.signals));
/** Linux signal numbers (1..64, realtime signals included). */
const MAX_SIGNAL = 64;

/** `usr1`, `SIGUSR1`, `10` → the form runc takes (`SIGUSR1`, `10`); invalid_input otherwise. */
export function signalName(raw: string): string {
  const parsed = SignalSchema.safeParse(raw);
  const sig = parsed.success ? parsed.data : null;
  if (sig !== null) {
    if (/^[0-9]+$/.test(sig) && Number(sig) >= 1 && Number(sig) <= MAX_SIGNAL) return sig;
    if (KNOWN.has(sig)) return sig;
  }
  throw new DomainError(
    "invalid_input",
    `invalid signal "${raw}": use a name like KILL or SIGUSR1, or a number 1-${MAX_SIGNAL}`,
    {
      signal: raw,
    },
  );
}

/** The image's StopSignal (Dockerfile STOPSIGNAL), or null for SIGTERM; an invalid one is ignored. */
export function stopSignalOf(config: ImageConfig, warn: (msg: string) => void): string | null {
  const raw = config.config?.StopSignal;
  if (raw === undefined || raw === "") return null;
  try {
    return signalName(raw);
  } catch {
    warn(`ignoring the image's invalid StopSignal "${raw}"; stop sends SIGTERM`);
    return null;
  }
}

/** True for SIGKILL in any of its spellings. */
export function isKill(sig: string): boolean {
  return sig === "SIGKILL" || sig === "9";
}
