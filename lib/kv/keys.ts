/**
 * Every Deno KV key deepstudio uses, built here and nowhere else, so the key map in
 * ARCHITECTURE.md is this file and a typo cannot create a second namespace. Each builder returns a
 * `KvKeyOf<V>` that carries the type of the value stored under it, and `kvGet`/`kvList`/`kvSet`
 * read and write through that type, so a reader cannot expect a different shape than the writer.
 */
import type { RunEvent, RunRecord } from "../research/schema.ts";
import type { StepRecord } from "../research/steps/types.ts";
import type { CancelRequest, OwnerLease } from "../research/lease.ts";
import type { FrozenSettings } from "../research/frozen.ts";
import type { Collection, JobClaim, LibraryDocument } from "../library/types.ts";
import type { CitationSummary, Passage, Source } from "../sources/types.ts";

declare const VALUE: unique symbol;

/** A key whose stored value has type `V` (the type exists only for the compiler). */
export type KvKeyOf<V> = Deno.KvKey & { readonly [VALUE]?: V };

/** A prefix whose entries all hold values of type `V`. */
export type KvPrefixOf<V> = Deno.KvKey & { readonly [VALUE]?: V };

function key<V>(...parts: Deno.KvKeyPart[]): KvKeyOf<V> {
  return parts as KvKeyOf<V>;
}

/**
 * The key `parts` inside `prefix`, typed as the prefix's values: every key that a list reads is
 * built from that list's prefix, so the two cannot drift apart.
 */
function under<V>(prefix: KvPrefixOf<V>, ...parts: Deno.KvKeyPart[]): KvKeyOf<V> {
  return [...prefix, ...parts] as KvKeyOf<V>;
}

/** Reads `k` as the type its builder declares. */
export function kvGet<V>(kv: Deno.Kv, k: KvKeyOf<V>): Promise<Deno.KvEntryMaybe<V>> {
  return kv.get<V>(k);
}

/** Lists `prefix` as the type its builder declares. */
export function kvList<V>(
  kv: Deno.Kv,
  prefix: KvPrefixOf<V>,
  opts?: Deno.KvListOptions,
): Deno.KvListIterator<V> {
  return kv.list<V>({ prefix }, opts);
}

/** Stages a typed write into an atomic operation (or anything with the same `set`). */
export function kvSet<V>(
  op: { set(key: Deno.KvKey, value: unknown, options?: { expireIn?: number }): unknown },
  k: KvKeyOf<V>,
  value: V,
  options?: { expireIn?: number },
): void {
  op.set(k, value, options);
}

/** A setting's stored value (validated by the settings schema on every load). */
export function settingKey(name: string): KvKeyOf<unknown> {
  return under(SETTINGS_PREFIX, name);
}

/** Prefix of all stored settings. */
export const SETTINGS_PREFIX: KvPrefixOf<unknown> = key("settings");

/** Bumped by every settings write; the atomic check on it serialises concurrent PATCHes. */
export const SETTINGS_REVISION_KEY: KvKeyOf<bigint> = key("meta", "settings_revision");

/** The schema version the data was migrated to. */
export const SCHEMA_VERSION_KEY: KvKeyOf<number> = key("meta", "schema_version");

/** A research run's record. */
export function runKey(id: string): KvKeyOf<RunRecord> {
  return under(RUNS_PREFIX, id);
}

/** Prefix of all run records. */
export const RUNS_PREFIX: KvPrefixOf<RunRecord> = key("runs");

/** A page of a run's events, keyed by the page's first `seq`. */
export function runEventKey(id: string, seq: number): KvKeyOf<RunEvent[]> {
  return under(runEventsPrefix(id), seq);
}

/** Prefix of one run's event pages. */
export function runEventsPrefix(id: string): KvPrefixOf<RunEvent[]> {
  return key("run_events", id);
}

/** A chunk of a run's text (values are capped at 64 KiB, so long text is split). */
export function runTextKey(id: string, chunk: number): KvKeyOf<string> {
  return under(runTextPrefix(id), chunk);
}

/** Prefix of one run's text chunks. */
export function runTextPrefix(id: string): KvPrefixOf<string> {
  return key("run_text", id);
}

/** History index: newest first by listing in reverse; the value is the run id. */
export function runByTimeKey(createdAt: number, id: string): KvKeyOf<string> {
  return under(RUNS_BY_TIME_PREFIX, createdAt, id);
}

/** Prefix of the history index. */
export const RUNS_BY_TIME_PREFIX: KvPrefixOf<string> = key("runs_by_time");

/**
 * Index of runs that are not finished (queued or running), value: the owner that runs them.
 * Recovery lists this instead of every run ever made.
 */
export function runActiveKey(id: string): KvKeyOf<string> {
  return under(RUNS_ACTIVE_PREFIX, id);
}

/** Prefix of the unfinished-runs index. */
export const RUNS_ACTIVE_PREFIX: KvPrefixOf<string> = key("runs_active");

/** One pipeline step's state and output (its output may continue in `runStepPartKey`s). */
export function runStepKey<O>(id: string, step: string): KvKeyOf<StepRecord<O>> {
  return under(runStepsPrefix(id), step) as KvKeyOf<StepRecord<O>>;
}

/** Prefix of one run's step records. */
export function runStepsPrefix(id: string): KvPrefixOf<StepRecord<unknown>> {
  return key("run_steps", id);
}

/** Part `n` of a step output too large for one value (JSON text, in order). */
export function runStepPartKey(id: string, step: string, n: number): KvKeyOf<string> {
  return under(runStepPartsPrefix(id), step, n);
}

/** Prefix of one run's step output parts. */
export function runStepPartsPrefix(id: string): KvPrefixOf<string> {
  return key("run_step_parts", id);
}

/** The settings a run froze at its start (secrets left out), so a resume uses the same ones. */
export function runSettingsKey(id: string): KvKeyOf<FrozenSettings> {
  return key("run_settings", id);
}

/** A request, made by any process, to stop a run wherever it runs. */
export function runCancelKey(id: string): KvKeyOf<CancelRequest> {
  return key("run_cancel", id);
}

/** A process's lease on the runs it owns (written with `expireIn`, renewed while it lives). */
export function ownerLeaseKey(owner: string): KvKeyOf<OwnerLease> {
  return key("owners", owner);
}

/** Every prefix that holds part of one run (for deletion and diagnostics). */
export function runPrefixes(id: string): Deno.KvKey[] {
  return [
    runEventsPrefix(id),
    runTextPrefix(id),
    runStepsPrefix(id),
    runStepPartsPrefix(id),
    runSourcesPrefix(id),
    runPassagesPrefix(id),
  ];
}

/** Single keys that belong to one run besides its record and history entry. */
export function runSideKeys(id: string): Deno.KvKey[] {
  return [runActiveKey(id), runSettingsKey(id), runCancelKey(id), runCitationsKey(id)];
}

/** One source of a run, by its index in the run's source list. */
export function runSourceKey(id: string, index: number): KvKeyOf<Source> {
  return under(runSourcesPrefix(id), index);
}

/** Prefix of one run's sources. */
export function runSourcesPrefix(id: string): KvPrefixOf<Source> {
  return key("run_sources", id);
}

/** The passages cut from one source of a run. */
export function runPassagesKey(id: string, index: number): KvKeyOf<Passage[]> {
  return under(runPassagesPrefix(id), index);
}

/** Prefix of one run's passages. */
export function runPassagesPrefix(id: string): KvPrefixOf<Passage[]> {
  return key("run_passages", id);
}

/** A run's citation summary, written when the report is final. */
export function runCitationsKey(id: string): KvKeyOf<CitationSummary> {
  return key("run_citations", id);
}

/** A Library collection's record. */
export function collectionKey(id: string): KvKeyOf<Collection> {
  return under(COLLECTIONS_PREFIX, id);
}

/** Prefix of all collections. */
export const COLLECTIONS_PREFIX: KvPrefixOf<Collection> = key("library_collections");

/** A document of a collection. */
export function libraryDocKey(collectionId: string, docId: string): KvKeyOf<LibraryDocument> {
  return under(libraryDocsPrefix(collectionId), docId);
}

/** Prefix of one collection's documents. */
export function libraryDocsPrefix(collectionId: string): KvPrefixOf<LibraryDocument> {
  return key("library_docs", collectionId);
}

/** Content hash → document id within a collection (uploads are deduplicated by it). */
export function libraryHashKey(collectionId: string, hash: string): KvKeyOf<string> {
  return under(libraryHashPrefix(collectionId), hash);
}

/** Which process runs a collection's indexing job (its owner lease says whether it lives). */
export function libraryJobKey(collectionId: string): KvKeyOf<JobClaim> {
  return key("library_job", collectionId);
}

/** Prefix of one collection's hash index. */
export function libraryHashPrefix(collectionId: string): KvPrefixOf<string> {
  return key("library_doc_hash", collectionId);
}
