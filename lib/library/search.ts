/**
 * Searching the Library: the query is embedded once per embedding model (with that family's
 * query prefix), each collection's space is searched hybrid (vector + BM25, fused by reciprocal
 * rank), and the hits of all collections are merged by fused score. When the embedding server is
 * unreachable the search still answers from keywords and says so in `degraded`.
 */
import { ProviderError } from "../providers/errors.ts";
import { spaceName } from "./job.ts";
import type { LibraryService } from "./service.ts";
import type { Collection } from "./types.ts";

/** One hit, as the API and the research engine get it. */
export interface LibraryHit {
  collectionId: string;
  documentId: string;
  title: string;
  /** File name of the document. */
  name: string;
  location: { page?: number; heading?: string; start: number; end: number };
  text: string;
  score: number;
  scores: { vector?: number; keyword?: number };
}

/** A search's answer. */
export interface LibrarySearchResult {
  results: LibraryHit[];
  /** Set when vectors could not be used (the embedding server is down): keywords only. */
  degraded?: { message: string; hint: string };
  tookMs: number;
}

/** What to search for. */
export interface LibrarySearchInput {
  q: string;
  /** Collection ids; empty or absent: all. */
  collections?: string[];
  k?: number;
  signal?: AbortSignal;
}

/** Searches the Library; the function the `library` research engine calls. */
export async function searchLibrary(
  library: LibraryService,
  input: LibrarySearchInput,
): Promise<LibrarySearchResult> {
  const started = performance.now();
  const k = Math.min(Math.max(input.k ?? 10, 1), 100);
  const wanted = input.collections?.length ? new Set(input.collections) : null;
  const collections = (await library.store.collections()).filter((c) =>
    !wanted || wanted.has(c.id)
  );
  const searchable = collections.filter((c) => c.index.dimensions !== null);
  if (searchable.length === 0 || input.q.trim() === "") return { results: [], tookMs: 0 };
  const index = await library.index();
  const vectors = new Map<string, Float32Array | null>();
  let degraded: LibrarySearchResult["degraded"];
  const queryVector = async (c: Collection) => {
    const key = `${c.index.provider}\u0000${c.index.model}`;
    if (!vectors.has(key)) {
      try {
        vectors.set(key, await library.embedder(c.index).embedQuery(input.q, input.signal));
      } catch (e) {
        if (!(e instanceof ProviderError) && !(e instanceof Error && e.name === "DimensionError")) {
          throw e;
        }
        degraded = e instanceof ProviderError ? { message: e.error.message, hint: e.error.hint } : {
          message: e.message,
          hint: "Re-index the collection with the model the server now serves.",
        };
        vectors.set(key, null);
      }
    }
    return vectors.get(key) ?? undefined;
  };
  const hits: LibraryHit[] = [];
  for (const c of searchable) {
    const space = await index.existing(spaceName(c.id, c.index.generation));
    if (!space) continue;
    const vector = await queryVector(c);
    const found = await space.search({ vector, text: input.q, k });
    const docs = await library.store.documentsById(c.id, found.map((h) => h.chunk.documentId));
    for (const h of found) {
      const doc = docs.get(h.chunk.documentId);
      if (!doc) continue; // deleted a moment ago
      hits.push({
        collectionId: c.id,
        documentId: doc.id,
        title: doc.title || doc.name,
        name: doc.name,
        location: {
          ...(h.chunk.page !== null ? { page: h.chunk.page } : {}),
          ...(h.chunk.heading !== null ? { heading: h.chunk.heading } : {}),
          start: h.chunk.start,
          end: h.chunk.end,
        },
        text: h.chunk.text,
        score: h.score,
        scores: h.scores,
      });
    }
  }
  hits.sort((a, b) => b.score - a.score);
  return {
    results: hits.slice(0, k),
    ...(degraded ? { degraded } : {}),
    tookMs: Math.round((performance.now() - started) * 10) / 10,
  };
}
