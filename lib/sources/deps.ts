/**
 * What the sourced steps need from the app besides the step context: the app's fetch (for the
 * configured engines), the Library's search, and an embedding function when an embedding model
 * is configured (else passages are ranked by keywords).
 */
import type { ProviderId } from "../providers/types.ts";
import type { LibrarySearchFn } from "../search/library.ts";

/** Texts → vectors, in order. */
export type EmbedFn = (texts: string[], signal?: AbortSignal) => Promise<number[][]>;

/** An embedding call on a provider with a model (the provider module's `embed` slot). */
export type ProviderEmbed = (
  provider: ProviderId,
  model: string,
  texts: string[],
  signal?: AbortSignal,
) => Promise<number[][]>;

/** The sourced steps' dependencies. */
export interface SourcesDeps {
  fetch: typeof fetch;
  searchLibrary: LibrarySearchFn | null;
  /** Null: keyword ranking whatever `search.embedding_model` says. */
  embed: ProviderEmbed | null;
}

/** The app's fetch, no Library, embeddings through `embed` when given. */
export function defaultSourcesDeps(
  fetchFn: typeof fetch,
  embed: ProviderEmbed | null = null,
): SourcesDeps {
  return { fetch: fetchFn, searchLibrary: null, embed };
}

/** The run's embedding function: its provider with `search.embedding_model`, or null. */
export function runEmbed(deps: SourcesDeps, provider: ProviderId, model: string): EmbedFn | null {
  const embed = deps.embed;
  if (!embed || !model.trim()) return null;
  return (texts, signal) => embed(provider, model.trim(), texts, signal);
}
