/**
 * The one search contract every engine implements (web, Library, none): a query in, hits out,
 * each hit with enough to cite it (a URL, or a document location), a snippet that can be cited
 * even when the page cannot be read, and a score on the engine's own scale.
 */

/** Engine ids, as chosen per run and stored with each source. */
export const ENGINE_IDS = ["searxng", "library", "wikipedia", "none"] as const;

/** An engine id. */
export type EngineId = typeof ENGINE_IDS[number];

/** Where a Library hit lives: enough to show "document, page 4" or "document § Heading". */
export interface DocumentLocation {
  collection: string;
  collectionName?: string;
  document: string;
  documentTitle?: string;
  page?: number | null;
  heading?: string | null;
}

/** One search result. */
export interface SearchHit {
  title: string;
  /** Web hits: the page URL. Library hits: null (see `location`). */
  url: string | null;
  location: DocumentLocation | null;
  /** Short text from the engine; for Library hits the passage itself. */
  snippet: string;
  engine: EngineId;
  /** Higher is better, comparable within one engine's answer only. */
  score: number;
  /** Web hits: the upstream engines SearXNG asked (duckduckgo, brave, …). */
  via?: string[];
  publishedDate?: string | null;
  /** Library hits carry their full passage text already: nothing to fetch. */
  text?: string;
}

/** An engine's answer: hits plus notes the run should show (e.g. an upstream engine timed out). */
export interface SearchResponse {
  hits: SearchHit[];
  notes: string[];
}

/** Options for one search. */
export interface SearchOptions {
  limit: number;
  signal?: AbortSignal;
}

/** What the Status page shows for an engine. */
export interface EngineStatus {
  id: EngineId;
  label: string;
  /** `not_checked`: an engine on a public service, never probed (that would send it a query). */
  state: "available" | "unavailable" | "not_configured" | "not_checked";
  url?: string;
  latencyMs?: number;
  detail?: string;
  hint?: string;
}

/** A search engine. */
export interface SearchEngine {
  id: EngineId;
  label: string;
  search(query: string, opts: SearchOptions): Promise<SearchResponse>;
  status(signal?: AbortSignal): Promise<EngineStatus>;
}
