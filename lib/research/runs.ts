/**
 * Run records in KV: creation (record and history index in one atomic write), reads, history
 * paging newest first, deletion of every entry a run owns, and the start-up pass that marks runs
 * a previous process left `running` or `queued` as `interrupted`, their text kept.
 */
import {
  runByTimeKey,
  runEventKey,
  runEventsPrefix,
  runKey,
  RUNS_BY_TIME_PREFIX,
  RUNS_PREFIX,
  runTextPrefix,
} from "../kv/keys.ts";
import { AppError } from "../http/errors.ts";
import type { RunRecord, RunSettings } from "./schema.ts";
import type { RunEvent } from "./schema.ts";

let counter = 0;

/**
 * A sortable id: creation time then a per-process counter, so runs created in the same
 * millisecond (or under a frozen test clock) still list in creation order.
 */
export function newRunId(now: number): string {
  counter = (counter + 1) % 1_679_616;
  const rand = crypto.getRandomValues(new Uint32Array(1))[0].toString(36).padStart(7, "0");
  return `${now.toString(36).padStart(9, "0")}${counter.toString(36).padStart(4, "0")}${rand}`;
}

/** A fresh record for a submitted run. */
export function newRunRecord(
  id: string,
  input: { query: string; mode: RunRecord["mode"]; settings: RunSettings; createdAt: number },
): RunRecord {
  return {
    id,
    query: input.query,
    mode: input.mode,
    status: "queued",
    settings: input.settings,
    createdAt: input.createdAt,
    startedAt: null,
    finishedAt: null,
    progress: null,
    metrics: { ttftMs: null, tokensPerSecond: null, usage: null, model: null, steps: 0 },
    error: null,
    steps: [],
    lastSeq: 0,
    textLength: 0,
    textChunks: 0,
  };
}

/** Writes a new record and its history entry; fails if the id exists. */
export async function insertRun(kv: Deno.Kv, record: RunRecord): Promise<Deno.KvCommitResult> {
  const res = await kv.atomic()
    .check({ key: runKey(record.id), versionstamp: null })
    .set(runKey(record.id), record)
    .set(runByTimeKey(record.createdAt, record.id), record.id)
    .commit();
  if (!res.ok) throw new Error(`run ${record.id} already exists`);
  return res;
}

/** One record with its versionstamp, or null. */
export async function getRun(kv: Deno.Kv, id: string): Promise<Deno.KvEntryMaybe<RunRecord>> {
  // Ids come from URLs: one that newRunId cannot have made is simply absent (a 2 KiB id would
  // otherwise exceed KV's key size and surface as a 500).
  if (!/^[0-9a-z]{1,64}$/.test(id)) return { key: runKey(id), value: null, versionstamp: null };
  return await kv.get<RunRecord>(runKey(id));
}

/** A page of history, newest first; `cursor` continues where the last page stopped. */
export async function listRuns(
  kv: Deno.Kv,
  opts: { limit: number; cursor?: string },
): Promise<{ runs: RunRecord[]; cursor: string | null }> {
  const iter = kv.list<string>({ prefix: RUNS_BY_TIME_PREFIX }, {
    reverse: true,
    limit: opts.limit,
    cursor: opts.cursor,
  });
  const ids: string[] = [];
  try {
    for await (const entry of iter) ids.push(entry.value);
  } catch (e) {
    // KV rejects a cursor it did not issue ("invalid cursor"): the client's mistake, not ours.
    if (opts.cursor !== undefined && e instanceof TypeError) {
      throw new AppError(400, "validation", "Invalid cursor: use the cursor of the previous page", {
        issues: [{ key: "cursor", message: "Not a cursor this server issued" }],
      });
    }
    throw e;
  }
  const runs: RunRecord[] = [];
  for (let i = 0; i < ids.length; i += 10) {
    const entries = await kv.getMany<RunRecord[]>(ids.slice(i, i + 10).map((id) => runKey(id)));
    for (const e of entries) if (e.value) runs.push(e.value);
  }
  const more = ids.length === opts.limit && iter.cursor !== "";
  return { runs, cursor: more ? iter.cursor : null };
}

/**
 * Removes the record, its history entry, its events and its text. One atomic operation when the
 * run fits in one (the usual case), so a crash cannot leave half a run; very long runs are
 * removed record first, so what remains after a crash is unreachable rather than half-visible.
 */
export async function deleteRunEntries(kv: Deno.Kv, record: RunRecord): Promise<number> {
  const keys: Deno.KvKey[] = [runKey(record.id), runByTimeKey(record.createdAt, record.id)];
  for (const prefix of [runEventsPrefix(record.id), runTextPrefix(record.id)]) {
    for await (const e of kv.list({ prefix })) keys.push(e.key);
  }
  for (let i = 0; i < keys.length; i += 500) {
    const op = kv.atomic();
    for (const k of keys.slice(i, i + 500)) op.delete(k);
    await op.commit();
  }
  return keys.length;
}

/** Every KV key a run holds (record, history entry, events, text): for tests and diagnostics. */
export async function runEntryKeys(kv: Deno.Kv, id: string): Promise<Deno.KvKey[]> {
  const keys: Deno.KvKey[] = [];
  if ((await kv.get(runKey(id))).versionstamp) keys.push(runKey(id));
  for (const prefix of [runEventsPrefix(id), runTextPrefix(id)]) {
    for await (const e of kv.list({ prefix })) keys.push(e.key);
  }
  for await (const e of kv.list<string>({ prefix: RUNS_BY_TIME_PREFIX })) {
    if (e.value === id) keys.push(e.key);
  }
  return keys;
}

/**
 * Marks runs left `running` or `queued` by a previous process as `interrupted`, appending the
 * closing events so a reader replaying the log sees how it ended. Each run is one atomic write
 * checked against the record, so two processes starting on one file cannot both do it.
 */
export async function recoverInterrupted(kv: Deno.Kv, now: number): Promise<string[]> {
  const recovered: string[] = [];
  for await (const entry of kv.list<RunRecord>({ prefix: RUNS_PREFIX })) {
    const run = entry.value;
    if (run.status !== "running" && run.status !== "queued") continue;
    const was = run.status;
    const message = was === "running"
      ? "deepstudio stopped while this run was in progress; the text produced so far is kept"
      : "deepstudio stopped before this run started";
    const events: RunEvent[] = [
      { seq: run.lastSeq + 1, type: "status", data: { status: "interrupted", was }, at: now },
      {
        seq: run.lastSeq + 2,
        type: "progress",
        data: { phase: "interrupted", message, percent: run.progress?.percent ?? 0 },
        at: now,
      },
      { seq: run.lastSeq + 3, type: "done", data: { status: "interrupted" }, at: now },
    ];
    const updated: RunRecord = {
      ...run,
      status: "interrupted",
      finishedAt: now,
      progress: events[1].data as RunRecord["progress"],
      lastSeq: run.lastSeq + 3,
    };
    const res = await kv.atomic().check(entry)
      .set(runKey(run.id), updated)
      .set(runEventKey(run.id, events[0].seq), events)
      .commit();
    if (res.ok) recovered.push(run.id);
  }
  return recovered;
}
