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

/** One source of a run (`Source`), by its index in the run's source list. */
export function runSourceKey(id: string, index: number): Deno.KvKey {
  return ["run_sources", id, index];
}

/** Prefix of one run's sources. */
export function runSourcesPrefix(id: string): Deno.KvKey {
  return ["run_sources", id];
}

/** The passages cut from one source of a run (`Passage[]`). */
export function runPassagesKey(id: string, index: number): Deno.KvKey {
  return ["run_passages", id, index];
}

/** Prefix of one run's passages. */
export function runPassagesPrefix(id: string): Deno.KvKey {
  return ["run_passages", id];
}

/** A run's citation summary (`CitationSummary`), written when the report is final. */
export function runCitationsKey(id: string): Deno.KvKey {
  return ["run_citations", id];
}
