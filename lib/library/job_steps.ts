/**
 * The pieces of the indexing job (`job.ts`) that do not depend on its state: what it needs, when
 * it must stop, how a failure is classed (the document fails, or the collection pauses), and
 * reading a document's bytes.
 */
import { ExtractError } from "../extract/types.ts";
import { ProviderError } from "../providers/errors.ts";
import type { ChunkOptions } from "./chunk.ts";
import { DimensionError, type Embedder } from "./embedder.ts";
import type { LibraryEvents } from "./events.ts";
import type { FileStore } from "./files.ts";
import { IndexError, type LibraryIndex } from "./index/types.ts";
import type { LibraryStore } from "./store.ts";
import type { Collection, CollectionError, IndexTarget, LibraryDocument } from "./types.ts";

/** What a job needs. */
export interface JobDeps {
  store: LibraryStore;
  files: FileStore;
  events: LibraryEvents;
  index: () => Promise<LibraryIndex>;
  embedder: (target: IndexTarget) => Embedder;
  chunking: ChunkOptions;
  maxDocumentBytes: number;
  now: () => number;
  log: (m: string) => void;
  /**
   * This process's owner id for job claims (`lease.ts`): the job stops once the collection's
   * claim names another owner (this one's lease lapsed and another process took over).
   */
  owner?: string;
}

/**
 * Whether the job should stop before its next document: the collection is gone, its target
 * generation changed (a re-index asked for by any process), or another process owns the job.
 */
export async function superseded(deps: JobDeps, collectionId: string, generation: number) {
  return !await current(deps, collectionId, generation);
}

/** The collection while the job may go on (see `superseded`), else null. */
export async function current(
  deps: JobDeps,
  collectionId: string,
  generation: number,
): Promise<Collection | null> {
  // The collection and the claim in one read: it runs before every document.
  const { collection: c, claimOwner } = await deps.store.collectionAndClaim(collectionId);
  if (!c || (c.building ?? c.index).generation !== generation) return null;
  return deps.owner !== undefined && claimOwner !== deps.owner ? null : c;
}

/** A failure that stops the whole job (as opposed to one document). */
export class PauseError extends Error {
  constructor(readonly error: CollectionError) {
    super(error.message);
  }
}

export function pauseFrom(e: unknown): CollectionError | null {
  if (e instanceof ProviderError) {
    const { kind, title, message, hint } = e.error;
    return { kind, title, message, hint };
  }
  if (e instanceof DimensionError) {
    return {
      kind: "dimensions",
      title: "Embedding model changed",
      message: e.message,
      hint: e.hint,
    };
  }
  if (e instanceof IndexError) {
    return { kind: `index_${e.kind}`, title: "Index problem", message: e.message, hint: e.hint };
  }
  return null;
}

/** The one-line reason a document failed. */
export function failureReason(doc: LibraryDocument, e: unknown): string {
  const reason = e instanceof ExtractError
    ? e.message
    : e instanceof ProviderError
    ? `${e.error.message}. ${e.error.hint}`
    : e instanceof Deno.errors.NotFound
    ? `${doc.name} is no longer there`
    : `${doc.name} could not be indexed: ${e instanceof Error ? e.message : String(e)}`;
  return reason.replace(/\s*\n\s*/g, " ");
}

export async function readBytes(deps: JobDeps, doc: LibraryDocument): Promise<Uint8Array> {
  if (doc.source.kind === "path") {
    const stat = await Deno.stat(doc.source.path);
    if (stat.size > deps.maxDocumentBytes) {
      throw new ExtractError(
        "too_large",
        `${doc.name} is ${(stat.size / 1048576).toFixed(1)} MiB, over the ${
          (deps.maxDocumentBytes / 1048576).toFixed(0)
        } MiB limit`,
      );
    }
    return await Deno.readFile(doc.source.path);
  }
  return await deps.files.get(doc.hash);
}
