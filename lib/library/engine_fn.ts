/**
 * The Library's search as the `library` research engine calls it (lib/search/library.ts):
 * passages with their document, page and heading. The Library itself is loaded on the first
 * call, so building engines at start-up loads nothing.
 */
import type { AppContext } from "../context.ts";
import { COLLECTIONS_PREFIX } from "../kv/keys.ts";
import type { LibraryPassage, LibrarySearchFn } from "../search/library.ts";

/** True when the Library has at least one collection (one KV read). */
export async function hasCollections(kv: Deno.Kv): Promise<boolean> {
  for await (const _ of kv.list({ prefix: COLLECTIONS_PREFIX }, { limit: 1 })) return true;
  return false;
}

/** The engine's search function over the app's Library. */
export function librarySearchFnFor(ctx: AppContext): LibrarySearchFn {
  return async (query, opts) => {
    const { libraryServiceFor, searchLibrary } = await import("./api.ts");
    const library = libraryServiceFor(ctx);
    const names = new Map((await library.store.collections()).map((c) => [c.id, c.name]));
    const { results } = await searchLibrary(library, {
      q: query,
      collections: opts.collections,
      k: opts.limit,
      signal: opts.signal,
    });
    return results.map((r): LibraryPassage => ({
      collectionId: r.collectionId,
      collectionName: names.get(r.collectionId),
      documentId: r.documentId,
      documentTitle: r.title,
      text: r.text,
      page: r.location.page ?? null,
      heading: r.location.heading ?? null,
      score: r.score,
    }));
  };
}
