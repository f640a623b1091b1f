/**
 * Every Deno KV key deepstudio uses, built here and nowhere else, so the key map in
 * ARCHITECTURE.md is this file and a typo cannot create a second namespace.
 */

/** A setting's stored value. */
export function settingKey(key: string): Deno.KvKey {
  return ["settings", key];
}

/** Prefix of all stored settings. */
export const SETTINGS_PREFIX: Deno.KvKey = ["settings"];

/** Bumped by every settings write; the atomic check on it serialises concurrent PATCHes. */
export const SETTINGS_REVISION_KEY: Deno.KvKey = ["meta", "settings_revision"];

/** The schema version the data was migrated to. */
export const SCHEMA_VERSION_KEY: Deno.KvKey = ["meta", "schema_version"];

/** A research run's record. */
export function runKey(id: string): Deno.KvKey {
  return ["runs", id];
}

/** Prefix of all run records. */
export const RUNS_PREFIX: Deno.KvKey = ["runs"];

/** A run's event number `seq`. */
export function runEventKey(id: string, seq: number): Deno.KvKey {
  return ["run_events", id, seq];
}

/** Prefix of one run's events. */
export function runEventsPrefix(id: string): Deno.KvKey {
  return ["run_events", id];
}

/** A chunk of a run's text (values are capped at 64 KiB, so long text is split). */
export function runTextKey(id: string, chunk: number): Deno.KvKey {
  return ["run_text", id, chunk];
}

/** Prefix of one run's text chunks. */
export function runTextPrefix(id: string): Deno.KvKey {
  return ["run_text", id];
}

/** History index: newest first by listing in reverse. */
export function runByTimeKey(createdAt: number, id: string): Deno.KvKey {
  return ["runs_by_time", createdAt, id];
}

/** Prefix of the history index. */
export const RUNS_BY_TIME_PREFIX: Deno.KvKey = ["runs_by_time"];

/** A Library collection's record. */
export function collectionKey(id: string): Deno.KvKey {
  return ["library_collections", id];
}

/** Prefix of all collections. */
export const COLLECTIONS_PREFIX: Deno.KvKey = ["library_collections"];

/** A document of a collection. */
export function libraryDocKey(collectionId: string, docId: string): Deno.KvKey {
  return ["library_docs", collectionId, docId];
}

/** Prefix of one collection's documents. */
export function libraryDocsPrefix(collectionId: string): Deno.KvKey {
  return ["library_docs", collectionId];
}

/** Content hash → document id within a collection (uploads are deduplicated by it). */
export function libraryHashKey(collectionId: string, hash: string): Deno.KvKey {
  return ["library_doc_hash", collectionId, hash];
}

/** Prefix of one collection's hash index. */
export function libraryHashPrefix(collectionId: string): Deno.KvKey {
  return ["library_doc_hash", collectionId];
}
