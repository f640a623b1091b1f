/**
 * Search failures as one typed union: every way an engine can fail (down, JSON disabled, rate
 * limited, malformed answer, timeout) becomes a `SearchFailure` with a title, a message naming
 * the URL used and a hint saying exactly what to change. A run turns it into a note and goes on
 * with the other engines.
 */
import { FailureError } from "../failure_error.ts";
import type { EngineId } from "./types.ts";

/** Kinds of search failure. */
export type SearchFailureKind =
  | "connection"
  | "timeout"
  | "json_disabled"
  | "rate_limit"
  | "http_status"
  | "malformed"
  | "not_configured"
  | "cancelled";

/** One typed search failure. */
export interface SearchFailure {
  kind: SearchFailureKind;
  engine: EngineId;
  title: string;
  message: string;
  hint: string;
  url?: string;
  status?: number;
}

/** Thrown by engines; `failure` is the typed error. */
export class SearchError extends FailureError<SearchFailure> {
  override name = "SearchError";
}

/** Titles per kind. */
export const SEARCH_ERROR_TITLES: Record<SearchFailureKind, string> = {
  connection: "Search engine not reachable",
  timeout: "Search engine timed out",
  json_disabled: "SearXNG JSON output is disabled",
  rate_limit: "Search engine rate limit",
  http_status: "Search engine error",
  malformed: "Unreadable search answer",
  not_configured: "Search engine not configured",
  cancelled: "Search cancelled",
};

/** Builds a `SearchError`. */
export function searchError(
  kind: SearchFailureKind,
  engine: EngineId,
  message: string,
  hint: string,
  extra: { url?: string; status?: number } = {},
): SearchError {
  return new SearchError({
    kind,
    engine,
    title: SEARCH_ERROR_TITLES[kind],
    message,
    hint,
    ...extra,
  });
}

/** Any thrown value as a `SearchFailure` (unknown errors are reported, never swallowed). */
export function toSearchFailure(err: unknown, engine: EngineId): SearchFailure {
  if (err instanceof SearchError) return err.failure;
  return {
    kind: "http_status",
    engine,
    title: SEARCH_ERROR_TITLES.http_status,
    message: `Search failed: ${(err as Error)?.message ?? String(err)}`,
    hint: "Try again; if it keeps failing, check the engine's logs.",
  };
}
