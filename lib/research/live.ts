/**
 * A run while this process owns it: the record, the event log and the text in memory, written to
 * KV in batches. A token costs no KV write; a flush (every `flushMs`, or sooner once `flushBytes`
 * of events wait, or at once for status changes) writes the pending events as pages, the changed
 * text chunk and the record in one atomic operation checked against the record's last
 * versionstamp. A failed check means someone else took the run (a second process marked it
 * interrupted, or it was deleted): the run is then aborted instead of overwriting.
 */
import { type KvKeyOf, runKey } from "../kv/keys.ts";
import { KV_MAX_COMMIT_BYTES, KV_MAX_MUTATIONS, serialisedBytes } from "../kv/limits.ts";
import { createEventLog, type EventLog } from "./events.ts";
import type { RunEvent, RunEventData, RunEventType, RunRecord } from "./schema.ts";
import { CHUNK_CHARS, createTextBuffer, type TextBuffer } from "./text.ts";
import { applyTextOp, type TextOp } from "./text_ops.ts";

/** Batching knobs (tests shorten them; the defaults suit a browser watching a stream). */
export interface FlushPolicy {
  /** Longest an event waits in memory before being written. */
  flushMs: number;
  /** Pending event bytes that trigger a write at once. */
  flushBytes: number;
}

/**
 * Defaults: at most about four writes a second while streaming; a fast stream writes sooner once
 * 16 KiB of events wait (a token's delta event is ~70 bytes, so ~230 tokens), which keeps pages
 * well under KV's 64 KiB value limit and memory bounded.
 */
export const DEFAULT_FLUSH: FlushPolicy = { flushMs: 250, flushBytes: 16 * 1024 };

/** What one flush writes at most: KV's limits with a margin for the size estimate. */
const COMMIT_BUDGET = Math.floor(KV_MAX_COMMIT_BYTES * 0.75);
const MUTATION_BUDGET = KV_MAX_MUTATIONS - 10;

/** Events that wait for the next batch; the rest (state changes) are written at once. */
const BATCHED: ReadonlySet<RunEventType> = new Set([
  "delta",
  "reasoning",
  "first_token",
  "progress",
  "text",
]);

/** Why a live run's upstream was aborted. */
export type AbortReason = "cancel" | "shutdown" | "lost";

/** KV write counters shared by a service's runs (reported by the benchmark). */
export interface WriteStats {
  commits: number;
  mutations: number;
}

/** A run owned by this process. */
export interface LiveRun {
  readonly id: string;
  readonly record: RunRecord;
  readonly log: EventLog;
  readonly text: TextBuffer;
  /** Aborts the upstream request; its reason says how the run should end. */
  readonly abort: AbortController;
  emit<T extends RunEventType>(type: T, data: RunEventData[T]): RunEvent;
  /** Changes the in-memory record; written with the next flush. */
  update(patch: Partial<RunRecord>): void;
  /** Edits the text and emits the edit as a `text` event (the one way layout reaches readers). */
  edit(op: TextOp, step?: string): void;
  /** Stages a value under its own key into the next flush (same atomic write as the record). */
  put<V>(key: KvKeyOf<V>, value: V): void;
  /** Stages a delete into the next flush. */
  del(key: Deno.KvKey): void;
  /** Writes everything pending; resolves once it is in KV (or the write failed). */
  flush(): Promise<void>;
  /** Final flush, then closes the log (readers get their `end`). */
  close(): Promise<void>;
  readonly reason: AbortReason | null;
}

/** Wraps a freshly inserted record (versionstamp from the insert) as a live run. */
export function createLiveRun(
  kv: Deno.Kv,
  initial: { record: RunRecord; versionstamp: string; text?: string },
  opts: { policy: FlushPolicy; now: () => number; stats: WriteStats; log: (m: string) => void },
): LiveRun {
  const record: RunRecord = { ...initial.record };
  let versionstamp = initial.versionstamp;
  const log = createEventLog(opts.now, record.lastSeq);
  const text = createTextBuffer(initial.text ?? "", record.textChunks);
  /** Writes staged by `put`/`del`, by key, until a flush commits them (`bytes`: serialised). */
  type Side = Map<string, { key: Deno.KvKey; value?: unknown; bytes: number }>;
  let side: Side = new Map();
  const abort = new AbortController();
  let recordDirty = false;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let chain: Promise<void> = Promise.resolve();
  let queued: Promise<void> | null = null;
  let lost = false;
  /** Event bytes staged into the commit in flight: still pending until it lands, but already
   * on their way, so they must not count towards the next batch's size threshold. */
  let inFlightBytes = 0;

  const sideBytes = () => [...side.values()].reduce((a, w) => a + w.bytes, 0);

  /** The run was taken elsewhere: stop instead of overwriting. */
  function loseRun() {
    lost = true;
    opts.log(`research run ${record.id} was changed elsewhere; stopping it here`);
    if (!abort.signal.aborted) abort.abort("lost");
  }

  /**
   * Staged puts too large to share a write with the events go first, on their own, checked
   * against the record (still ours) without changing it; false when the run is lost or KV failed.
   */
  async function writeSideAlone(): Promise<boolean> {
    while (side.size > MUTATION_BUDGET / 3 || sideBytes() > COMMIT_BUDGET / 3) {
      const op = kv.atomic().check({ key: runKey(record.id), versionstamp });
      const part: Side = new Map();
      let bytes = 0;
      for (const [k, w] of side) {
        if (part.size && (part.size >= MUTATION_BUDGET || bytes + w.bytes > COMMIT_BUDGET)) break;
        part.set(k, w);
        bytes += w.bytes;
        if ("value" in w) op.set(w.key, w.value);
        else op.delete(w.key);
      }
      for (const k of part.keys()) side.delete(k);
      try {
        const res = await op.commit();
        opts.stats.commits++;
        opts.stats.mutations += part.size;
        if (!res.ok) loseRun();
      } catch (e) {
        opts.log(`research run ${record.id}: could not save progress (${(e as Error).message})`);
        side = new Map([...part, ...side]);
        return false;
      }
      if (lost) {
        side = new Map([...part, ...side]);
        return false;
      }
    }
    return true;
  }

  /** One write of the text's changed chunks, events up to the budget, the puts and the record. */
  async function writeMain(): Promise<"done" | "more" | "stop"> {
    const op = kv.atomic().check({ key: runKey(record.id), versionstamp });
    let mutations = 1;
    const counted = {
      set: (key: Deno.KvKey, value: unknown) => (mutations++, op.set(key, value)),
      delete: (key: Deno.KvKey) => (mutations++, op.delete(key)),
    };
    const chunks = text.stage(counted, record.id);
    // Text chunks are at most CHUNK_CHARS units, two bytes each at most: no need to measure them.
    const bytes = serialisedBytes(record) + sideBytes() + (mutations - 1) * (2 * CHUNK_CHARS + 64);
    const waiting = log.pendingCount;
    const budget = COMMIT_BUDGET - bytes;
    const staged = log.stage(counted, record.id, budget);
    inFlightBytes = Math.min(log.pendingBytes, Math.max(0, budget));
    const sideStaged = side;
    side = new Map();
    for (const w of sideStaged.values()) {
      mutations++;
      if ("value" in w) op.set(w.key, w.value);
      else op.delete(w.key);
    }
    const snapshot: RunRecord = {
      ...record,
      lastSeq: log.lastSeq - log.pendingCount + staged,
      textLength: text.text.length,
      textChunks: chunks,
    };
    op.set(runKey(record.id), snapshot);
    recordDirty = false;
    try {
      const res = await op.commit().finally(() => inFlightBytes = 0);
      opts.stats.commits++;
      opts.stats.mutations += mutations;
      if (res.ok) {
        versionstamp = res.versionstamp;
        log.committed(staged);
        text.committed();
        record.lastSeq = snapshot.lastSeq;
        record.textChunks = chunks;
        record.textLength = snapshot.textLength;
        return staged < waiting ? "more" : "done";
      }
      text.failed();
      side = new Map([...sideStaged, ...side]);
      loseRun();
    } catch (e) {
      // KV closed (shutdown) or failing: keep everything pending for a later flush.
      text.failed();
      side = new Map([...sideStaged, ...side]);
      recordDirty = true;
      opts.log(`research run ${record.id}: could not save progress (${(e as Error).message})`);
    }
    return "stop";
  }

  /**
   * Writes everything pending, within KV's limits per write (lib/kv/limits.ts): large staged
   * puts first on their own, then the text's changed chunks, the events oldest first up to the
   * budget and the record, repeated until no event that was waiting is left. The record only
   * ever counts events that landed.
   */
  async function write(): Promise<void> {
    if (lost) return;
    if (log.pendingCount === 0 && !text.dirty && !recordDirty && side.size === 0) return;
    if (!await writeSideAlone()) return;
    let step: "done" | "more" | "stop";
    do step = await writeMain(); while (step === "more");
    // Tokens that arrived while this commit was in flight wait for their own full batch
    // (or the timer) instead of following at once as a small extra commit.
    if (step === "done" && log.pendingCount > 0) schedule(false);
  }

  function flush(): Promise<void> {
    if (timer !== null) {
      clearTimeout(timer);
      timer = null;
    }
    if (queued) return queued;
    queued = chain.then(() => {
      queued = null;
      return write();
    });
    chain = queued;
    return queued;
  }

  function schedule(now: boolean) {
    if (now || log.pendingBytes - inFlightBytes >= opts.policy.flushBytes) {
      flush();
      return;
    }
    timer ??= setTimeout(() => {
      timer = null;
      flush();
    }, opts.policy.flushMs);
  }

  return {
    id: record.id,
    record,
    log,
    text,
    abort,
    get reason() {
      const r = abort.signal.reason;
      return abort.signal.aborted && (r === "cancel" || r === "shutdown" || r === "lost")
        ? r
        : null;
    },
    emit(type, data) {
      const e = log.append(type, data);
      if (type === "status") recordDirty = true;
      // Tokens, notes and text edits wait for the next batch; state changes are written at once.
      schedule(!BATCHED.has(type));
      return e;
    },
    update(patch) {
      Object.assign(record, patch);
      recordDirty = true;
    },
    edit(op, step) {
      if (op.op === "append") text.append(op.text);
      else if (op.op === "truncate") text.truncate(op.length);
      else text.replace(applyTextOp(text.text, op));
      this.emit("text", step === undefined ? op : { ...op, step });
    },
    put(key, value) {
      const k = JSON.stringify(key);
      side.delete(k); // a newer write of the same key goes after the other staged ones
      side.set(k, { key, value, bytes: serialisedBytes(value) + 64 });
      schedule(false);
    },
    del(key) {
      const k = JSON.stringify(key);
      side.delete(k);
      side.set(k, { key, bytes: 64 });
      schedule(false);
    },
    flush,
    async close() {
      await flush();
      if (timer !== null) clearTimeout(timer);
      timer = null;
      log.close();
    },
  };
}
