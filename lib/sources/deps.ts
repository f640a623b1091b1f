/**
 * What the sourced steps need from the app besides the step context: the app's fetch (for the
 * configured engines), the Library's search, and an embedding function when an embedding model
 * is configured (else passages are ranked by keywords).
 */
import type { LibrarySearchFn } from "../search/library.ts";

/** Texts → vectors, in order. */
export type EmbedFn = (texts: string[], signal?: AbortSignal) => Promise<number[][]>;

/** The sourced steps' dependencies. */
export interface SourcesDeps {
  fetch: typeof fetch;
  searchLibrary: LibrarySearchFn | null;
  /** Null: keyword ranking. */
  embed: EmbedFn | null;
}

/** No Library, no embeddings: web search with keyword ranking. */
export function defaultSourcesDeps(fetchFn: typeof fetch): SourcesDeps {
  return { fetch: fetchFn, searchLibrary: null, embed: null };
}
