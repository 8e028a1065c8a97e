/**
 * Sign-in rate limiting, in memory (one server process; a restart forgets, which only ever
 * loosens the limit). Two sliding windows of failed attempts:
 *
 * - per account: after 5 failures within 15 minutes, each further attempt waits an exponential
 *   backoff from the last failure (30 s, 1 min, 2 min, … capped at 15 min);
 * - per address: 20 failures within 15 minutes block that address until the oldest ages out.
 *
 * An attempt counts as a failure from the moment it starts (reserve) until it succeeds (settle),
 * so concurrent guesses cannot slip past the check while argon2 runs.
 * A success clears the account's failures (not the address's: one good password must not
 * unlock guessing other accounts). Attempts refused by the limiter are not counted, so a locked
 * account's wait does not grow while someone keeps knocking. Both maps are bounded.
 */
export const WINDOW_MS = 15 * 60 * 1000;
export const ACCOUNT_FREE_FAILURES = 5;
export const ADDRESS_MAX_FAILURES = 20;
const BASE_BACKOFF_MS = 30_000;
const MAX_BACKOFF_MS = 15 * 60 * 1000;
const MAX_KEYS = 10_000;

export interface LimitDecision {
  allowed: boolean;
  /** Milliseconds until the next attempt may be made (when not allowed). */
  retryAfterMs: number;
  /** Which limit refused. */
  scope?: "account" | "address";
}

export class LoginLimiter {
  private readonly accounts = new Map<string, number[]>();
  private readonly addresses = new Map<string, number[]>();

  constructor(private readonly now: () => number = Date.now) {}

  private recent(map: Map<string, number[]>, key: string): number[] {
    const t = this.now();
    const list = (map.get(key) ?? []).filter((x) => t - x < WINDOW_MS);
    if (list.length === 0) map.delete(key);
    else map.set(key, list);
    return list;
  }

  /** Whether `account` may try to sign in from `address` now. */
  check(account: string, address: string | null): LimitDecision {
    const t = this.now();
    const acc = this.recent(this.accounts, account.toLowerCase());
    if (acc.length >= ACCOUNT_FREE_FAILURES) {
      const backoff = Math.min(
        BASE_BACKOFF_MS * 2 ** (acc.length - ACCOUNT_FREE_FAILURES),
        MAX_BACKOFF_MS,
      );
      const wait = acc[acc.length - 1]! + backoff - t;
      if (wait > 0) return { allowed: false, retryAfterMs: wait, scope: "account" };
    }
    if (address) {
      const addr = this.recent(this.addresses, address);
      if (addr.length >= ADDRESS_MAX_FAILURES) {
        const wait = addr[addr.length - ADDRESS_MAX_FAILURES]! + WINDOW_MS - t;
        if (wait > 0) return { allowed: false, retryAfterMs: wait, scope: "address" };
      }
    }
    return { allowed: true, retryAfterMs: 0 };
  }

  failed(account: string, address: string | null): void {
    const t = this.now();
    this.push(this.accounts, account.toLowerCase(), t);
    if (address) this.push(this.addresses, address, t);
  }

  succeeded(account: string): void {
    this.accounts.delete(account.toLowerCase());
  }

  /**
   * Checks and, when allowed, counts the attempt as a failure right away (in the same tick, so
   * concurrent attempts cannot all pass the check while the password hashes run). Settle the
   * returned reservation with `settle` once the outcome is known.
   */
  reserve(account: string, address: string | null): LimitDecision & { at?: number } {
    const decision = this.check(account, address);
    if (!decision.allowed) return decision;
    const at = this.now();
    this.failed(account, address);
    return { ...decision, at };
  }

  /**
   * Settles a reservation: a failure stays counted; a success clears the account's failures and
   * withdraws the reserved address entry; `not_failure` (e.g. a right password of a disabled
   * user) only withdraws the reserved entries.
   */
  settle(
    account: string,
    address: string | null,
    at: number,
    outcome: "failure" | "success" | "not_failure",
  ): void {
    if (outcome === "failure") return;
    if (outcome === "success") this.succeeded(account);
    else this.withdraw(this.accounts, account.toLowerCase(), at);
    if (address) this.withdraw(this.addresses, address, at);
  }

  private withdraw(map: Map<string, number[]>, key: string, at: number): void {
    const list = map.get(key);
    if (!list) return;
    const i = list.lastIndexOf(at);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) map.delete(key);
  }

  private push(map: Map<string, number[]>, key: string, t: number): void {
    const list = this.recent(map, key);
    list.push(t);
    map.delete(key);
    map.set(key, list);
    // Maps iterate in insertion order: the first key is the least recently failed.
    while (map.size > MAX_KEYS) map.delete(map.keys().next().value as string);
  }
}

/** "4 min", "30 s": for the refusal message. */
export function describeWait(ms: number): string {
  const s = Math.ceil(ms / 1000);
  return s < 90 ? `${s} s` : `${Math.ceil(s / 60)} min`;
}
