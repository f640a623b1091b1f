/**
 * Throttles guessing of the access token, per client address. A few wrong tokens are free (typos);
 * after that each further wrong token doubles the time the address must wait before its next try,
 * and tries inside that time are refused (429 with `retry-after`) without checking the token. The
 * wait is a refusal rather than a server-side sleep, so opening many connections at once gains an
 * attacker nothing and holds no sockets. One log line per escalation, not one per attempt.
 */

/** Wrong tokens an address may send before it has to wait. */
export const FREE_FAILURES = 3;
/** First wait, doubled by every further wrong token. */
export const BASE_WAIT_MS = 1000;
/** Longest wait. */
export const MAX_WAIT_MS = 15 * 60_000;
/** An address's record is forgotten this long after its last wrong token. */
export const FORGET_AFTER_MS = 60 * 60_000;
/** Addresses remembered at most (the oldest is dropped first), so memory stays bounded. */
export const MAX_ADDRESSES = 10_000;

interface Entry {
  failures: number;
  lastFailure: number;
  /** Before this time the address is refused. */
  until: number;
  /** Attempts refused since the last log line. */
  refused: number;
}

/** The verdict before checking a token. */
export type ThrottleCheck = { ok: true } | { ok: false; retryAfterSeconds: number };

/** The throttle's surface (one per app). */
export interface SignInThrottle {
  /** Whether `address` may try a token now. */
  check(address: string): ThrottleCheck;
  /** A wrong token from `address`. */
  failed(address: string): void;
  /** The right token: the address starts afresh. */
  succeeded(address: string): void;
}

/** The wait after the `failures`-th wrong token (0 while still free). */
export function waitAfter(failures: number): number {
  if (failures < FREE_FAILURES) return 0;
  return Math.min(MAX_WAIT_MS, BASE_WAIT_MS * 2 ** Math.min(failures - FREE_FAILURES, 30));
}

/** A throttle on the app's clock, logging through `log`. */
export function createSignInThrottle(
  now: () => number,
  log: (message: string) => void,
): SignInThrottle {
  const entries = new Map<string, Entry>();

  function entry(address: string): Entry | undefined {
    const e = entries.get(address);
    if (e && now() - e.lastFailure > FORGET_AFTER_MS) {
      entries.delete(address);
      return undefined;
    }
    return e;
  }

  return {
    check(address) {
      const e = entry(address);
      const t = now();
      if (!e || t >= e.until) return { ok: true };
      e.refused++;
      return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((e.until - t) / 1000)) };
    },
    failed(address) {
      const t = now();
      let e = entry(address);
      if (!e) {
        if (entries.size >= MAX_ADDRESSES) entries.delete(entries.keys().next().value!);
        e = { failures: 0, lastFailure: t, until: 0, refused: 0 };
        entries.set(address, e);
      }
      e.failures++;
      e.lastFailure = t;
      const wait = waitAfter(e.failures);
      e.until = t + wait;
      if (wait > 0) {
        const refused = e.refused ? `, ${e.refused} more attempt(s) refused while it waited` : "";
        log(
          `Sign-in: ${e.failures} wrong access tokens in a row from ${address}${refused}; ` +
            `its next try is allowed in ${Math.round(wait / 1000)} s`,
        );
        e.refused = 0;
      }
    },
    succeeded(address) {
      entries.delete(address);
    },
  };
}
