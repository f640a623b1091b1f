/**
 * A run while this process owns it: the record, the event log and the text in memory, written to
 * KV in batches. A token costs no KV write; a flush (every `flushMs`, or sooner once `flushBytes`
 * of events wait, or at once for status changes) writes the pending events as pages, the changed
 * text chunk and the record in one atomic operation checked against the record's last
 * versionstamp. A failed check means someone else took the run (a second process marked it
 * interrupted, or it was deleted): the run is then aborted instead of overwriting.
 */
import { type KvKeyOf, runKey } from "../kv/keys.ts";
import { createEventLog, type EventLog } from "./events.ts";
import type { RunEvent, RunEventData, RunEventType, RunRecord } from "./schema.ts";
import { createTextBuffer, type TextBuffer } from "./text.ts";
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
  /** Writes staged by `put`/`del`, by key, until a flush commits them. */
  let side = new Map<string, { key: Deno.KvKey; value?: unknown }>();
  const abort = new AbortController();
  let recordDirty = false;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let chain: Promise<void> = Promise.resolve();
  let queued: Promise<void> | null = null;
  let lost = false;
  /** Event bytes staged into the commit in flight: still pending until it lands, but already
   * on their way, so they must not count towards the next batch's size threshold. */
  let inFlightBytes = 0;

  async function write(): Promise<void> {
    if (lost) return;
    if (log.pendingCount === 0 && !text.dirty && !recordDirty && side.size === 0) return;
    const op = kv.atomic().check({ key: runKey(record.id), versionstamp });
    let mutations = 1;
    const counted = {
      set: (key: Deno.KvKey, value: unknown) => (mutations++, op.set(key, value)),
      delete: (key: Deno.KvKey) => (mutations++, op.delete(key)),
    };
    inFlightBytes = log.pendingBytes;
    const staged = log.stage(counted, record.id);
    const chunks = text.stage(counted, record.id);
    const sideStaged = side;
    side = new Map();
    for (const w of sideStaged.values()) {
      if ("value" in w) counted.set(w.key, w.value);
      else counted.delete(w.key);
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
        // Tokens that arrived while this commit was in flight wait for their own full batch
        // (or the timer) instead of following at once as a small extra commit.
        if (log.pendingCount > 0) schedule(false);
        return;
      }
      lost = true;
      opts.log(`research run ${record.id} was changed elsewhere; stopping it here`);
      text.failed();
      side = sideStaged;
      if (!abort.signal.aborted) abort.abort("lost");
    } catch (e) {
      // KV closed (shutdown) or failing: keep everything pending for a later flush.
      text.failed();
      for (const [k, w] of sideStaged) if (!side.has(k)) side.set(k, w);
      recordDirty = true;
      opts.log(`research run ${record.id}: could not save progress (${(e as Error).message})`);
    }
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
      side.set(JSON.stringify(key), { key, value });
      schedule(false);
    },
    del(key) {
      side.set(JSON.stringify(key), { key });
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
