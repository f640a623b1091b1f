/**
 * The indexing job of one collection: documents `queued` (or left `indexing` by a crash) are
 * extracted, chunked and embedded in order, each batch of vectors committed to the index as it
 * lands. Chunk ids are `<document>:<ord>` and a resumed document skips the ords the index already
 * holds, so a kill -9 costs at most the batches in flight and never duplicates a chunk.
 * A per-document problem (unreadable file, chunk too long for the server) fails that document;
 * a server problem (down, model missing, wrong dimensions) pauses the collection with the typed
 * error until it is resumed or the provider answers again.
 */
import { ExtractError } from "../extract/types.ts";
import { extractDocument } from "../extract/extract.ts";
import { ProviderError } from "../providers/errors.ts";
import { chunkBlocks, type ChunkOptions } from "./chunk.ts";
import { DocumentCommits } from "./doc_commits.ts";
import { DimensionError, type Embedder } from "./embedder.ts";
import type { LibraryEvents } from "./events.ts";
import type { FileStore } from "./files.ts";
import { IndexError, type IndexSpace, type LibraryIndex } from "./index/types.ts";
import type { LibraryStore } from "./store.ts";
import type {
  Collection,
  CollectionError,
  IndexTarget,
  LibraryDocument,
  Progress,
} from "./types.ts";

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
  /** False once another process has taken the job over (this one's lease lapsed). */
  owns?: (collectionId: string) => Promise<boolean>;
}

/**
 * Whether the job should stop before its next document: the collection is gone, its target
 * generation changed (a re-index asked for by any process), or another process owns the job.
 */
async function superseded(deps: JobDeps, collectionId: string, generation: number) {
  const c = await deps.store.collection(collectionId);
  if (!c || (c.building ?? c.index).generation !== generation) return true;
  return deps.owns ? !await deps.owns(collectionId) : false;
}

/**
 * Documents a job works on at the same time, and the bytes of their files together (one document
 * over it still goes, alone). Enough that while some wait on their embedding calls or commits,
 * others are read and chunked, so the embedder always has its next request ready: at 3, a
 * document of one batch (read, chunk, embed, commit) took three times the embedding call, and the
 * server sat idle between requests.
 */
const DOCUMENTS_AT_ONCE = 8;
const BYTES_AT_ONCE = 32 * 1024 * 1024;

/** The index space of a collection's generation. */
export function spaceName(collectionId: string, generation: number): string {
  return `c_${collectionId.replace(/-/g, "")}_g${generation}`;
}

/** A failure that stops the whole job (as opposed to one document). */
class PauseError extends Error {
  constructor(readonly error: CollectionError) {
    super(error.message);
  }
}

function pauseFrom(e: unknown): CollectionError | null {
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

async function readBytes(deps: JobDeps, doc: LibraryDocument): Promise<Uint8Array> {
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

/** Runs one collection's job until nothing is queued, `signal` aborts, or it pauses. */
export async function runJob(deps: JobDeps, collectionId: string, signal: AbortSignal) {
  const startedAt = deps.now();
  const progress: Progress = {
    state: "indexing",
    docsTotal: 0,
    docsDone: 0,
    chunksEmbedded: 0,
    chunksPerSecond: null,
    etaSeconds: null,
    currentFile: null,
    error: null,
  };
  let bytesDone = 0;
  let bytesTotal = 0;
  const emit = () => {
    const seconds = (deps.now() - startedAt) / 1000;
    progress.chunksPerSecond = seconds > 0 ? progress.chunksEmbedded / seconds : null;
    progress.etaSeconds = bytesDone > 0 ? (seconds * (bytesTotal - bytesDone)) / bytesDone : null;
    deps.events.publish(collectionId, "progress", { ...progress });
  };
  const setState = async (change: Partial<Collection>) => {
    const c = await deps.store.updateCollection(collectionId, (c) => ({
      ...c,
      ...change,
      updatedAt: deps.now(),
    }));
    if (c) deps.events.publish(collectionId, "collection", await deps.store.view(c));
    return c;
  };

  let collection = await setState({ state: "indexing", error: null });
  if (!collection) return;
  const commits = new DocumentCommits(
    deps.store,
    collectionId,
    (d) => deps.events.publish(collectionId, "document", d),
  );
  /** `indexed` commits not waited for one by one: the job waits for them all before it ends. */
  const finished: Promise<unknown>[] = [];
  try {
    const index = await deps.index();
    const docs = await deps.store.documents(collectionId);
    const target = collection.building ?? collection.index;
    let space: IndexSpace | null = target.dimensions
      ? await index.space(spaceName(collectionId, target.generation), target.dimensions)
      : await index.existing(spaceName(collectionId, target.generation));
    // Chunks of documents deleted while the process was down are orphans: drop them.
    await space?.retainDocuments(docs.map((d) => d.id));
    const todo = docs.filter((d) => d.state === "queued" || d.state === "indexing");
    progress.docsTotal = docs.length;
    progress.docsDone = docs.length - todo.length;
    bytesTotal = todo.reduce((n, d) => n + d.size, 0);
    emit();
    const embedder = deps.embedder(target);
    /** Indexes one document; false when the job must stop (aborted or superseded). */
    const indexOne = async (doc: LibraryDocument): Promise<boolean> => {
      if (signal.aborted || await superseded(deps, collectionId, target.generation)) return false;
      progress.currentFile = doc.name;
      const updateDoc = (change: Partial<LibraryDocument>) =>
        commits.update(doc.id, (d) => ({ ...d, ...change }));
      // Chunks of an older version of the file go before the new ones come (and before the new
      // hash is recorded); a resumed document (same hash) keeps what it had.
      if (doc.indexedHash !== doc.hash) await space?.deleteDocuments([doc.id]);
      // Committed while the file is read and its first batch embedded; waited for before its
      // first chunk is written, so a document deleted meanwhile gets no orphan chunks. A kill -9
      // before it lands leaves the document `queued` with its old hash: its chunks are redone.
      const marked = updateDoc({ state: "indexing", indexedHash: doc.hash });
      finished.push(marked);
      let gone = false;
      const stillThere = async () => {
        if (!await marked) gone = true;
        return !gone;
      };
      emit();
      try {
        const bytes = await readBytes(deps, doc);
        const extracted = await extractDocument(doc.name, bytes, {
          maxBytes: deps.maxDocumentBytes,
        });
        const chunks = chunkBlocks(extracted.blocks, deps.chunking);
        const have = new Set(space ? await space.ordsOf(doc.id) : []);
        const missing = chunks.filter((c) => !have.has(c.ord));
        await embedder.embedDocuments(
          missing.map((c) => c.heading ? `${c.heading}\n${c.text}` : c.text),
          {
            signal,
            onBatch: async (start, vectors) => {
              if (!await stillThere()) return;
              if (!space) {
                space = await index.space(
                  spaceName(collectionId, target.generation),
                  vectors[0].length,
                );
                target.dimensions = vectors[0].length;
                await deps.store.updateCollection(collectionId, (c) => {
                  const key = c.building?.generation === target.generation ? "building" : "index";
                  return { ...c, [key]: { ...c[key]!, dimensions: target.dimensions } };
                });
              }
              await space.add(vectors.map((vector, i) => {
                const c = missing[start + i];
                return {
                  id: `${doc.id}:${c.ord}`,
                  collectionId,
                  documentId: doc.id,
                  ord: c.ord,
                  text: c.text,
                  page: c.page,
                  heading: c.heading,
                  start: c.start,
                  end: c.end,
                  vector,
                };
              }));
              progress.chunksEmbedded += vectors.length;
              emit();
            },
          },
        );
        if (signal.aborted) return false;
        if (!await stillThere()) {
          await space?.deleteDocuments([doc.id]); // a batch may have landed before the delete
          return true;
        }
        // Not waited for here: the next document's requests go out while this commits. A kill -9
        // before it lands leaves the document `indexing` with every chunk stored; the resumed job
        // finds nothing missing and marks it indexed.
        finished.push(updateDoc({
          state: "indexed",
          error: null,
          errorKind: null,
          title: extracted.title,
          format: extracted.format,
          pages: extracted.pages,
          chunks: chunks.length,
          indexedAt: deps.now(),
        }));
      } catch (e) {
        if (signal.aborted) return false;
        const pause = pauseFrom(e);
        if (pause && !(e instanceof ProviderError && e.error.kind === "token_limit")) {
          throw new PauseError(pause);
        }
        const reason = e instanceof ExtractError
          ? e.message
          : e instanceof ProviderError
          ? `${e.error.message}. ${e.error.hint}`
          : e instanceof Deno.errors.NotFound
          ? `${doc.name} is no longer there`
          : `${doc.name} could not be indexed: ${e instanceof Error ? e.message : String(e)}`;
        await marked;
        await space?.deleteDocuments([doc.id]);
        await updateDoc({
          state: "failed",
          error: reason.replace(/\s*\n\s*/g, " "),
          errorKind: e instanceof ExtractError
            ? e.kind
            : e instanceof ProviderError
            ? e.error.kind
            : "internal",
          chunks: 0,
        });
      }
      bytesDone += doc.size;
      progress.docsDone++;
      emit();
      return true;
    };
    // A few documents at a time, so one's reads and commits overlap another's embedding calls
    // (the embedder still keeps at most its `concurrency` requests in flight).
    let next = 0;
    let stopped = false;
    let failure: unknown = null;
    let holding = 0;
    let released: (() => void)[] = [];
    const worker = async () => {
      while (!stopped && failure === null && next < todo.length) {
        const doc = todo[next++];
        while (holding > 0 && holding + doc.size > BYTES_AT_ONCE) {
          await new Promise<void>((r) => released.push(r));
        }
        holding += doc.size;
        try {
          if (!await indexOne(doc)) stopped = true;
        } catch (e) {
          failure ??= e;
        } finally {
          holding -= doc.size;
          const wake = released;
          released = [];
          wake.forEach((r) => r());
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(DOCUMENTS_AT_ONCE, todo.length) }, worker));
    if (failure !== null) throw failure;
    await Promise.all(finished);
    if (stopped) return;
    // Done: a finished re-index becomes the searchable index and the old space goes.
    if (await superseded(deps, collectionId, target.generation)) return;
    collection = await deps.store.collection(collectionId);
    if (collection?.building) {
      const old = collection.index.generation;
      await setState({ index: collection.building, building: null });
      await index.drop(spaceName(collectionId, old));
    }
    progress.currentFile = null;
    progress.state = "idle";
    await setState({ state: "idle", error: null });
    emit();
    // Every chunk is searchable already: merging the keyword index's segments (on the index's
    // writer thread) need not keep the collection `indexing`, and cannot fail the job.
    await space?.optimize().catch((e) =>
      deps.log(`library job ${collectionId}: optimize: ${e instanceof Error ? e.message : e}`)
    );
  } catch (e) {
    await Promise.allSettled(finished);
    if (signal.aborted) return;
    const error = e instanceof PauseError ? e.error : pauseFrom(e) ?? {
      kind: "internal",
      title: "Indexing failed",
      message: e instanceof Error ? e.message : String(e),
      hint: "See deepstudio's log; resume the collection to try again.",
    };
    if (!(e instanceof PauseError)) deps.log(`library job ${collectionId}: ${error.message}`);
    const state = e instanceof PauseError || pauseFrom(e) ? "paused" : "error";
    progress.state = state;
    progress.error = error;
    await setState({ state, error });
    emit();
  }
}
