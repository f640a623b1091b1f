/**
 * One indexing job per collection across every process on one data directory. A process that
 * starts a collection's job first claims it (`libraryJobKey`, written with an atomic check, so
 * two processes racing get one winner) and holds an owner lease while it runs jobs: the same
 * lease research runs use (`lib/research/lease.ts`, renewed every third of its length, judged
 * by its stored expiry). A claim whose owner's lease has expired (the process died, even by
 * kill -9) may be taken over; one whose owner lives is left alone, and the caller watches it.
 */
import { kvGet, kvSet, libraryJobKey } from "../kv/keys.ts";
import { holdLease, type Lease, leaseAlive } from "../research/lease.ts";

/** This process's claims on collection jobs. */
export interface JobClaims {
  readonly owner: string;
  /** Takes the collection's job for this process; false when a live process holds it. */
  claim(collectionId: string): Promise<boolean>;
  /** True while this process still holds the claim (another may take it if our lease lapsed). */
  owns(collectionId: string): Promise<boolean>;
  /** True when no live process holds the claim. */
  free(collectionId: string): Promise<boolean>;
  /** Gives the claim up (only if it is still ours). */
  release(collectionId: string): Promise<void>;
  close(): Promise<void>;
}

/** Claims for one process, renewing its owner lease while it holds any. */
export function createJobClaims(
  kv: Deno.Kv,
  opts: { leaseMs: number; now: () => number; log: (m: string) => void },
): JobClaims {
  const owner = crypto.randomUUID();
  const held = new Set<string>();
  let lease: Lease | null = null;
  let stopping: Promise<void> = Promise.resolve();

  const retain = async () => {
    if (!lease) {
      await stopping;
      lease = holdLease(kv, owner, opts);
    }
    await lease.ready;
  };
  const releaseLease = () => {
    if (held.size || !lease) return;
    stopping = lease.stop();
    lease = null;
  };
  const holder = async (id: string) => {
    const entry = await kvGet(kv, libraryJobKey(id));
    const other = entry.value && entry.value.owner !== owner ? entry.value.owner : null;
    return { entry, busy: other !== null && await leaseAlive(kv, other, opts.now()) };
  };

  return {
    owner,
    async claim(id) {
      await retain();
      for (;;) {
        const { entry, busy } = await holder(id);
        if (busy) {
          releaseLease();
          return false;
        }
        const op = kv.atomic().check(entry);
        kvSet(op, libraryJobKey(id), { owner, at: opts.now() });
        if ((await op.commit()).ok) {
          held.add(id);
          return true;
        }
      }
    },
    async owns(id) {
      return (await kvGet(kv, libraryJobKey(id))).value?.owner === owner;
    },
    async free(id) {
      const { entry, busy } = await holder(id);
      return entry.value?.owner === owner || !busy;
    },
    async release(id) {
      held.delete(id);
      const entry = await kvGet(kv, libraryJobKey(id));
      if (entry.value?.owner === owner) {
        await kv.atomic().check(entry).delete(libraryJobKey(id)).commit().catch(() => {});
      }
      releaseLease();
    },
    async close() {
      for (const id of [...held]) await this.release(id).catch(() => {});
      held.clear();
      releaseLease();
      await stopping;
    },
  };
}
