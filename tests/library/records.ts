/**
 * Library records for tests that talk to the store directly: an idle collection on LM Studio's
 * default embedding model and a queued upload document, every field set, so a test names only
 * what it cares about.
 */
import { prefixRuleFor } from "../../lib/library/prefixes.ts";
import type { Collection, LibraryDocument } from "../../lib/library/types.ts";

/** Collection `id` (named after it), idle, bound to nomic-embed-text; `extra` overrides fields. */
export function libraryCollection(id: string, extra: Partial<Collection> = {}): Collection {
  const model = "text-embedding-nomic-embed-text-v1.5";
  return {
    id,
    name: id,
    index: {
      generation: 1,
      provider: "lmstudio",
      model,
      prefix: prefixRuleFor(model),
      dimensions: null,
    },
    building: null,
    state: "idle",
    error: null,
    folders: [],
    createdAt: 1,
    updatedAt: 1,
    ...extra,
  };
}

/** Document `i` of `collectionId` (id `d<i>`, hash `h<i>`), queued; `extra` overrides fields. */
export function libraryDoc(
  collectionId: string,
  i: number,
  extra: Partial<LibraryDocument> = {},
): LibraryDocument {
  return {
    id: `d${i}`,
    collectionId,
    name: `doc${i}.txt`,
    source: { kind: "upload" },
    hash: `h${i}`,
    size: 1,
    indexedHash: null,
    state: "queued",
    error: null,
    errorKind: null,
    title: null,
    format: null,
    pages: null,
    chunks: 0,
    addedAt: i,
    indexedAt: null,
    ...extra,
  };
}
