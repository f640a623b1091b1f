/**
 * Run records in KV: creation (record, history index, unfinished-runs index and frozen settings
 * in one atomic write), reads, history paging newest first, and deletion of every entry a run
 * owns.
 */
import {
  kvSet,
  runActiveKey,
  runByTimeKey,
  runKey,
  runPrefixes,
  RUNS_BY_TIME_PREFIX,
  runSettingsKey,
  runSideKeys,
} from "../kv/keys.ts";
import { AppError } from "../http/errors.ts";
import type { FrozenSettings } from "./frozen.ts";
import { pendingPipeline } from "./pipeline.ts";
import type { RunSources } from "../sources/request.ts";
import type { RunRecord, RunSettings } from "./schema.ts";

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
  input: {
    query: string;
    mode: RunRecord["mode"];
    settings: RunSettings;
    createdAt: number;
    owner: string;
    sources?: RunSources;
  },
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
    pipeline: pendingPipeline(input.mode, input.sources),
    owner: input.owner,
    resumes: 0,
    lastSeq: 0,
    textLength: 0,
    textChunks: 0,
    ...(input.sources ? { sources: input.sources } : {}),
  };
}

/** Writes a new record, its index entries and frozen settings; fails if the id exists. */
export async function insertRun(
  kv: Deno.Kv,
  record: RunRecord,
  frozen: FrozenSettings,
): Promise<Deno.KvCommitResult> {
  const op = kv.atomic().check({ key: runKey(record.id), versionstamp: null });
  kvSet(op, runKey(record.id), record);
  kvSet(op, runByTimeKey(record.createdAt, record.id), record.id);
  kvSet(op, runActiveKey(record.id), record.owner ?? "");
  kvSet(op, runSettingsKey(record.id), frozen);
  const res = await op.commit();
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
  const keys: Deno.KvKey[] = [
    runKey(record.id),
    runByTimeKey(record.createdAt, record.id),
    ...runSideKeys(record.id),
    ...await prefixedKeys(kv, record.id),
  ];
  for (let i = 0; i < keys.length; i += 500) {
    const op = kv.atomic();
    for (const k of keys.slice(i, i + 500)) op.delete(k);
    await op.commit();
  }
  return keys.length;
}

/** Every KV key a run holds (record, indexes, events, text, steps): for tests and diagnostics. */
export async function runEntryKeys(kv: Deno.Kv, id: string): Promise<Deno.KvKey[]> {
  const single = await kv.getMany([runKey(id), ...runSideKeys(id)]);
  const keys = single.filter((e) => e.versionstamp).map((e) => e.key);
  keys.push(...await prefixedKeys(kv, id));
  for await (const e of kv.list<string>({ prefix: RUNS_BY_TIME_PREFIX })) {
    if (e.value === id) keys.push(e.key);
  }
  return keys;
}

/** Every key under the run's prefixes (events, text, steps, sources, passages). */
async function prefixedKeys(kv: Deno.Kv, id: string): Promise<Deno.KvKey[]> {
  const keys: Deno.KvKey[] = [];
  for (const prefix of runPrefixes(id)) {
    for await (const e of kv.list({ prefix })) keys.push(e.key);
  }
  return keys;
}
