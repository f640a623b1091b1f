/**
 * Runs owned by another process on the same KV file. A local KV file does not deliver
 * `kv.watch` notifications for another process's writes (docs/decisions/run-leases.md), so
 * this side polls: a reader follows a remote run by re-reading its record and replaying the
 * event pages its owner flushed (the owner writes a batch at least every 250 ms while it
 * streams); a cancel is a `runCancelKey` the owner polls for and acts on.
 */
import { kvSet, runCancelKey } from "../kv/keys.ts";
import { readEvents } from "./events.ts";
import { getRun } from "./runs.ts";
import { isTerminal, type RunEvent, type RunRecord } from "./schema.ts";

/** How often remote state is re-read. */
export const DEFAULT_POLL_MS = 100;

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

/** Asks whichever process owns run `id` to stop it. */
export async function requestCancel(kv: Deno.Kv, id: string, now: number): Promise<void> {
  const op = kv.atomic();
  kvSet(op, runCancelKey(id), { at: now });
  await op.commit();
}

/** Ids among `ids` someone asked to cancel. */
export async function cancelRequested(kv: Deno.Kv, ids: string[]): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < ids.length; i += 10) {
    const batch = ids.slice(i, i + 10);
    const entries = await kv.getMany(batch.map((id) => runCancelKey(id)));
    entries.forEach((e, j) => e.versionstamp && out.push(batch[j]));
  }
  return out;
}

/** The record once it is terminal (or gone), waiting at most `ms`. */
export async function waitTerminal(
  kv: Deno.Kv,
  id: string,
  ms: number,
  pollMs = DEFAULT_POLL_MS,
): Promise<RunRecord | null> {
  const until = Date.now() + ms;
  for (;;) {
    const r = (await getRun(kv, id)).value;
    if (!r || isTerminal(r.status) || Date.now() >= until) return r;
    await sleep(pollMs);
  }
}

/** Persisted events after `after`, then new ones as the owner flushes them, until `done`. */
export async function* followRemote(
  kv: Deno.Kv,
  id: string,
  opts: { after: number; signal: AbortSignal; pollMs?: number },
): AsyncGenerator<RunEvent> {
  let last = opts.after;
  let stamp: string | null = null;
  while (!opts.signal.aborted) {
    const run = await getRun(kv, id);
    if (!run.value) return;
    if (run.versionstamp !== stamp) {
      stamp = run.versionstamp;
      let ended = false;
      for (const e of await readEvents(kv, id, last)) {
        if (e.seq <= last) continue;
        last = e.seq;
        yield e;
        ended = e.type === "done";
      }
      // A `done` ends the stream unless the run was resumed after it (then more follow).
      if (ended && isTerminal(run.value.status)) return;
    }
    await sleep(opts.pollMs ?? DEFAULT_POLL_MS, opts.signal);
  }
}
