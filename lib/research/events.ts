/**
 * A run's event log. Every event gets the next `seq` (the SSE `id:`), goes to live subscribers at
 * once and waits in `pending` until a batched flush writes it to KV as part of a page (an array
 * of consecutive events under `["run_events", id, firstSeq]`). Flushes commit in order, so KV
 * always holds a gap-free prefix 1..K of the log and `pending` holds K+1..last: a reader that
 * subscribes first, then reads KV, then the pending snapshot, misses nothing (see `follow`).
 */
import { runEventKey, runEventsPrefix } from "../kv/keys.ts";
import type { RunEvent, RunEventData, RunEventType } from "./schema.ts";
import type { KvWrites } from "./text.ts";
import { createWakeup } from "../wakeup.ts";
import { serialisedBytes } from "../kv/limits.ts";

/** Largest serialised page (`serialisedBytes`: text in any script); KV values are capped at 64 KiB. */
export const MAX_PAGE_BYTES = 48 * 1024;

/** Receives events in seq order; `end` is called once the log is closed. */
export interface EventListener {
  event(e: RunEvent): void;
  end(): void;
}

/** The in-memory side of a live run's log. */
export interface EventLog {
  readonly lastSeq: number;
  /** Approximate serialised size of the events not yet written. */
  readonly pendingBytes: number;
  readonly pendingCount: number;
  readonly closed: boolean;
  append<T extends RunEventType>(type: T, data: RunEventData[T]): RunEvent;
  /** Registers a listener and returns a copy of the pending events after `after`. */
  subscribe(after: number, listener: EventListener): { pending: RunEvent[]; unsubscribe(): void };
  /**
   * Stages pending events, oldest first, as pages into `op` until `budget` serialised bytes are
   * staged (at least one event); returns how many were staged. The rest wait for the next write.
   */
  stage(op: KvWrites, id: string, budget?: number): number;
  /** The staged events are in KV: drop them from memory. */
  committed(count: number): void;
  /** No more events: listeners get `end`. */
  close(): void;
}

function size(e: RunEvent): number {
  return serialisedBytes(e) + 8;
}

/** A log continuing after `lastSeq` already persisted events. */
export function createEventLog(now: () => number, lastSeq = 0): EventLog {
  let seq = lastSeq;
  let pending: RunEvent[] = [];
  /** `size` of each pending event, in the same order. */
  let sizes: number[] = [];
  let pendingBytes = 0;
  let closed = false;
  const listeners = new Set<EventListener>();

  return {
    get lastSeq() {
      return seq;
    },
    get pendingBytes() {
      return pendingBytes;
    },
    get pendingCount() {
      return pending.length;
    },
    get closed() {
      return closed;
    },
    append(type, data) {
      if (closed) throw new Error("event log is closed");
      const e = { seq: ++seq, type, data, at: now() } as RunEvent;
      const s = size(e);
      pending.push(e);
      sizes.push(s);
      pendingBytes += s;
      for (const l of listeners) l.event(e);
      return e;
    },
    subscribe(after, listener) {
      if (closed) queueMicrotask(() => listener.end());
      else listeners.add(listener);
      return {
        pending: pending.filter((e) => e.seq > after),
        unsubscribe: () => listeners.delete(listener),
      };
    },
    stage(op, id, budget = Infinity) {
      let page: RunEvent[] = [];
      let bytes = 0;
      let total = 0;
      let count = 0;
      for (; count < pending.length; count++) {
        const e = pending[count];
        const s = sizes[count];
        if (count > 0 && total + s > budget) break;
        total += s;
        if (page.length && bytes + s > MAX_PAGE_BYTES) {
          op.set(runEventKey(id, page[0].seq), page);
          page = [];
          bytes = 0;
        }
        page.push(e);
        bytes += s;
      }
      if (page.length) op.set(runEventKey(id, page[0].seq), page);
      return count;
    },
    committed(count) {
      for (let i = 0; i < count; i++) pendingBytes -= sizes[i];
      pending = pending.slice(count);
      sizes = sizes.slice(count);
    },
    close() {
      if (closed) return;
      closed = true;
      for (const l of listeners) l.end();
      listeners.clear();
    },
  };
}

/** Persisted events with `seq > after`, in order. */
export async function readEvents(kv: Deno.Kv, id: string, after = 0): Promise<RunEvent[]> {
  const out: RunEvent[] = [];
  for await (const entry of kv.list<RunEvent[]>({ prefix: runEventsPrefix(id) })) {
    for (const e of entry.value) if (e.seq > after) out.push(e);
  }
  return out;
}

/** A live log to follow, or none when the run is finished (then KV alone has everything). */
export interface Followable {
  log: EventLog | null;
}

/**
 * Everything after `after` and then live events until the log ends or `signal` aborts:
 * subscribe first, then replay KV and the pending snapshot, then the live buffer, dropping any
 * seq already sent. Ends after the last `done` event (a resumed run's log has one per attempt).
 */
export async function* follow(
  kv: Deno.Kv,
  id: string,
  source: Followable,
  opts: { after: number; signal: AbortSignal },
): AsyncGenerator<RunEvent> {
  let last = opts.after;
  const buffered: RunEvent[] = [];
  let ended = false;
  const { wait, wake: poke } = createWakeup();
  const sub = source.log?.subscribe(opts.after, {
    event(e) {
      buffered.push(e);
      poke();
    },
    end() {
      ended = true;
      poke();
    },
  });
  opts.signal.addEventListener("abort", poke);
  try {
    // A resumed run's log holds the `done` of each earlier attempt: only the last one ends it.
    const replay = [...await readEvents(kv, id, opts.after), ...(sub?.pending ?? [])];
    for (const [i, e] of replay.entries()) {
      if (e.seq <= last) continue;
      last = e.seq;
      yield e;
      if (e.type === "done" && !sub && i === replay.length - 1) return;
    }
    if (!sub) return;
    for (;;) {
      while (buffered.length) {
        const e = buffered.shift()!;
        if (e.seq <= last) continue;
        last = e.seq;
        yield e;
        if (e.type === "done") return;
      }
      if (ended || opts.signal.aborted) return;
      await wait();
    }
  } finally {
    sub?.unsubscribe();
    opts.signal.removeEventListener("abort", poke);
  }
}
