/**
 * Deno KV on a local file is SQLite: an atomic operation with checks reads, then writes, and when
 * another connection (a second deepstudio on the same `--kv` file) writes in between, SQLite
 * refuses the upgrade at once with SQLITE_BUSY, which Deno KV throws as
 * `TypeError: database is locked` (its busy wait does not cover a lock upgrade). Measured: two
 * connections each doing 200 checked writes to the same keys saw 199 such errors. The operation
 * did nothing, so running it again is safe.
 */

/** True for the error a contended local KV file throws. */
export function isKvLocked(e: unknown): boolean {
  return e instanceof Error && /database is locked/i.test(e.message);
}

/** Runs `fn` again (briefly backing off) while the KV file is locked by another connection. */
export async function retryLocked<T>(fn: () => Promise<T>, attempts = 60): Promise<T> {
  for (let attempt = 1;; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (!isKvLocked(e) || attempt >= attempts) throw e;
      await new Promise((r) => setTimeout(r, Math.min(100, 2 * attempt) * (0.5 + Math.random())));
    }
  }
}
