/**
 * Run ownership across processes on one KV file. Each research service is an owner with a lease:
 * `ownerLeaseKey(owner)` holds when it expires, rewritten (with KV's `expireIn`, so a dead
 * owner's key also disappears eventually) every third of the lease while the process lives. A
 * run record names its owner; recovery takes over only runs whose owner's lease has expired, so
 * a second process on the same file leaves the first one's runs alone. Expiry is judged by the
 * stored time, not by the key's presence: a local KV file keeps expired keys readable until it
 * purges them.
 */
import { kvGet, kvSet, ownerLeaseKey } from "../kv/keys.ts";

/** What `ownerLeaseKey` holds. */
export interface OwnerLease {
  owner: string;
  /** Epoch ms after which the owner counts as gone. */
  expiresAt: number;
  startedAt: number;
}

/** What `runCancelKey` holds: someone asked, from any process, for the run to stop. */
export interface CancelRequest {
  at: number;
}

/** Default lease: long enough for a busy machine to renew, short enough to recover soon. */
export const DEFAULT_LEASE_MS = 15_000;

/** `owner`'s stored lease (possibly expired), or null. */
export async function readLease(kv: Deno.Kv, owner: string | null): Promise<OwnerLease | null> {
  if (!owner) return null;
  return (await kvGet(kv, ownerLeaseKey(owner))).value;
}

/** True when `owner` holds an unexpired lease at `now`. */
export async function leaseAlive(kv: Deno.Kv, owner: string | null, now: number): Promise<boolean> {
  const lease = await readLease(kv, owner);
  return !!lease && lease.expiresAt > now;
}

/** A running lease: renewed until `stop` (which also removes it). */
export interface Lease {
  readonly owner: string;
  /** Resolves once the first renewal is written. */
  readonly ready: Promise<void>;
  stop(): Promise<void>;
}

/** Takes and keeps renewing a lease for `owner`. */
export function holdLease(
  kv: Deno.Kv,
  owner: string,
  opts: { leaseMs: number; now: () => number; log: (m: string) => void },
): Lease {
  const startedAt = opts.now();
  let stopped = false;
  async function renew() {
    if (stopped) return;
    const value: OwnerLease = { owner, expiresAt: opts.now() + opts.leaseMs, startedAt };
    const op = kv.atomic();
    kvSet(op, ownerLeaseKey(owner), value, { expireIn: opts.leaseMs * 4 });
    try {
      await op.commit();
    } catch (e) {
      if (!stopped) opts.log(`could not renew the run lease: ${(e as Error).message}`);
    }
  }
  const timer = setInterval(renew, Math.max(50, Math.floor(opts.leaseMs / 3)));
  Deno.unrefTimer(timer);
  return {
    owner,
    ready: renew(),
    async stop() {
      stopped = true;
      clearInterval(timer);
      try {
        await kv.delete(ownerLeaseKey(owner));
      } catch { /* KV already closed */ }
    },
  };
}
