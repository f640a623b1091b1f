/**
 * The `library` engine: the user's own collections, searched through the Library's search
 * function (injected, so this module does not depend on how the Library indexes). Library hits
 * already carry their passage text: the read step has nothing to fetch for them.
 */
import { SearchError, searchError } from "./errors.ts";
import type { SearchEngine, SearchHit, SearchOptions, SearchResponse } from "./types.ts";

/** One Library passage as the Library's search returns it. */
export interface LibraryPassage {
  collectionId: string;
  collectionName?: string;
  documentId: string;
  documentTitle: string;
  text: string;
  page: number | null;
  heading: string | null;
  score: number;
}

/** The Library's search, as this engine needs it. */
export type LibrarySearchFn = (
  query: string,
  opts: { collections?: string[]; limit: number; signal?: AbortSignal },
) => Promise<LibraryPassage[]>;

/** Builds the engine over the Library's search, restricted to `collections` when given. */
export function libraryEngine(
  searchLibrary: LibrarySearchFn | null,
  collections?: string[],
): SearchEngine {
  const label = "Library";
  async function search(query: string, opts: SearchOptions): Promise<SearchResponse> {
    if (!searchLibrary) {
      throw searchError(
        "not_configured",
        "library",
        "The Library is not available in this deepstudio",
        "Open the Library page and add a collection first.",
      );
    }
    let passages: LibraryPassage[];
    try {
      passages = await searchLibrary(query, {
        collections,
        limit: opts.limit,
        signal: opts.signal,
      });
    } catch (err) {
      if (err instanceof SearchError) throw err;
      throw searchError(
        "http_status",
        "library",
        `Library search failed: ${(err as Error)?.message ?? err}`,
        "Check the Library page: the collection may still be indexing or its embedding model " +
          "may not be loaded.",
      );
    }
    const hits: SearchHit[] = passages.slice(0, opts.limit).map((p) => ({
      title: p.documentTitle,
      url: null,
      location: {
        collection: p.collectionId,
        collectionName: p.collectionName,
        document: p.documentId,
        documentTitle: p.documentTitle,
        page: p.page,
        heading: p.heading,
      },
      snippet: p.text.length > 300 ? `${p.text.slice(0, 297)}…` : p.text,
      text: p.text,
      engine: "library",
      score: p.score,
    }));
    return { hits, notes: [] };
  }
  return {
    id: "library",
    label,
    search,
    status: () =>
      Promise.resolve(
        searchLibrary ? { id: "library", label, state: "available" as const } : {
          id: "library",
          label,
          state: "not_configured" as const,
          hint: "Add a collection on the Library page.",
        },
      ),
  };
}
