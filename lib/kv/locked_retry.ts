/**
 * Two deepstudio processes may share one KV file (runs carry leases for exactly that). Deno KV's
 * SQLite backend then answers a write that meets the other process's write lock with
 * `TypeError: database is locked` at once instead of waiting (measured: two processes writing
 * flat out get thousands of these per second; reads never do; docs/decisions/run-ownership.md).
 * An unretried one is a 500 on a settings PATCH or a lost lease renewal. `retryLockedWrites`
 * wraps the store so every write (`atomic().commit()`, `set`, `delete`, `enqueue`) waits and
 * tries again: a refused commit wrote nothing, so sending it again is safe (its checks are
 * evaluated afresh).
 */

/** How long one write keeps trying before the error is passed on. */
export const LOCKED_RETRY_MS = 5000;

/** True for SQLite's "the other process holds the write lock" refusal. */
export function isLockedError(e: unknown): boolean {
  return e instanceof Error && /database is locked|SQLITE_BUSY/i.test(e.message);
}

/** Runs `write` until it is not refused for the lock, with jittered backoff, up to `budgetMs`. */
export async function retryLocked<T>(
  write: () => Promise<T>,
  budgetMs = LOCKED_RETRY_MS,
): Promise<T> {
  const start = performance.now();
  for (let attempt = 0;; attempt++) {
    try {
      return await write();
    } catch (e) {
      if (!isLockedError(e) || performance.now() - start > budgetMs) throw e;
      const cap = Math.min(50, 2 ** attempt);
      await new Promise((r) => setTimeout(r, cap / 2 + Math.random() * cap / 2));
    }
  }
}

/** `kv` with every write retried while another process holds the file's write lock. */
export function retryLockedWrites(kv: Deno.Kv): Deno.Kv {
  const writes = new Set<PropertyKey>(["set", "delete", "enqueue"]);
  // Built once per method, not per access: reads (`get` on every request) go straight through.
  const methods = new Map<PropertyKey, unknown>();
  const method = (prop: PropertyKey, value: (...a: unknown[]) => unknown) => {
    if (prop === "atomic") {
      return () => {
        const op = kv.atomic();
        const commit = op.commit.bind(op);
        op.commit = () => retryLocked(commit);
        return op;
      };
    }
    if (writes.has(prop)) {
      return (...args: unknown[]) => retryLocked(() => value.apply(kv, args) as Promise<unknown>);
    }
    return value.bind(kv);
  };
  return new Proxy(kv, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (typeof value !== "function") return value;
      if (!methods.has(prop)) methods.set(prop, method(prop, value));
      return methods.get(prop);
    },
  });
}
