/**
 * Library records for tests that talk to the store directly: a queued upload document with
 * every field set, so a test names only what it cares about.
 */
import type { LibraryDocument } from "../../lib/library/types.ts";

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
