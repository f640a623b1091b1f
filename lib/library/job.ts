/**
 * The indexing job of one collection: documents `queued` (or left `indexing` by a crash) are
 * extracted, chunked and embedded in order, each batch of vectors committed to the index as it
 * lands. Chunk ids are `<document>:<ord>` and a resumed document skips the ords the index already
 * holds, so a kill -9 costs at most the batches in flight and never duplicates a chunk.
 * Nothing the embedding requests wait for is a write: a document's batches are written (and its
 * `indexed` state committed after them) while the next documents are read and embedded.
 * A per-document problem (unreadable file, chunk too long for the server) fails that document;
 * a server problem (down, model missing, wrong dimensions) pauses the collection with the typed
 * error until it is resumed or the provider answers again.
 */
import { ExtractError } from "../extract/types.ts";
import { extractDocument } from "../extract/extract.ts";
import { ProviderError } from "../providers/errors.ts";
import { chunkBlocks } from "./chunk.ts";
import { DocumentCommits } from "./doc_commits.ts";
import { ProgressEvents, startingProgress } from "./progress.ts";
import type { IndexSpace } from "./index/types.ts";
import {
  current,
  failureReason,
  type JobDeps,
  PauseError,
  pauseFrom,
  readBytes,
  superseded,
} from "./job_steps.ts";
import type { Collection, LibraryDocument, Progress } from "./types.ts";

export type { JobDeps } from "./job_steps.ts";

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

/** Runs one collection's job until nothing is queued, `signal` aborts, or it pauses. */
export async function runJob(deps: JobDeps, collectionId: string, signal: AbortSignal) {
  const startedAt = deps.now();
  const progress: Progress = startingProgress();
  // Counts change with every batch and document; their events go out at a fixed cadence.
  const progressEvents = new ProgressEvents(
    progress,
    (p) => deps.events.publish(collectionId, "progress", p),
    deps.now,
    startedAt,
  );
  const emit = () => progressEvents.emit();
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
    progressEvents.bytesTotal = todo.reduce((n, d) => n + d.size, 0);
    emit();
    const embedder = deps.embedder(target);
    let stopped = false;
    let failure: unknown = null;
    /** A failed document: its chunks go, the reason stays; a server or index problem pauses. */
    const failDocument = async (doc: LibraryDocument, e: unknown) => {
      const pause = pauseFrom(e);
      if (pause && !(e instanceof ProviderError && e.error.kind === "token_limit")) {
        throw new PauseError(pause);
      }
      await space?.deleteDocuments([doc.id]);
      await commits.update(doc.id, (d) => ({
        ...d,
        state: "failed",
        error: failureReason(doc, e),
        errorKind: e instanceof ExtractError
          ? e.kind
          : e instanceof ProviderError
          ? e.error.kind
          : "internal",
        chunks: 0,
      }));
    };
    const documentDone = (doc: LibraryDocument) => {
      progressEvents.bytesDone += doc.size;
      progress.docsDone++;
      emit();
    };
    /**
     * Indexes one document; false when the job must stop (aborted or superseded). Its chunks
     * are written as their batches land without the embedding waiting for them: what is left
     * once the last batch is in (the writes, then the `indexed` commit) is returned in `landing`.
     * `sending` is called when its embedding requests are about to go out.
     */
    const indexOne = async (
      doc: LibraryDocument,
      sending: () => void,
    ): Promise<{ go: boolean; landing?: Promise<void> }> => {
      if (signal.aborted || await superseded(deps, collectionId, target.generation)) {
        return { go: false };
      }
      progress.currentFile = doc.name;
      // Chunks of an older version of the file go before the new ones come (and before the new
      // hash is recorded); a resumed document (same hash) keeps what it had.
      if (doc.indexedHash !== doc.hash) await space?.deleteDocuments([doc.id]);
      // Committed while the file is read and its first batch embedded; waited for before its
      // first chunk is written, so a document deleted meanwhile gets no orphan chunks. A kill -9
      // before it lands leaves the document `queued` with its old hash: its chunks are redone.
      const marked = commits.update(doc.id, (d) => ({
        ...d,
        state: "indexing",
        indexedHash: doc.hash,
      }));
      finished.push(marked);
      const stillThere = async () => !!await marked;
      emit();
      /** Every batch's write, in the order they landed. */
      const writes: Promise<void>[] = [];
      try {
        const bytes = await readBytes(deps, doc);
        const extracted = await extractDocument(doc.name, bytes, {
          maxBytes: deps.maxDocumentBytes,
        });
        const chunks = chunkBlocks(extracted.blocks, deps.chunking);
        const have = new Set(space ? await space.ordsOf(doc.id) : []);
        const missing = chunks.filter((c) => !have.has(c.ord));
        const write = async (start: number, vectors: Float32Array[]) => {
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
        };
        sending();
        await embedder.embedDocuments(
          missing.map((c) => c.heading ? `${c.heading}\n${c.text}` : c.text),
          {
            signal,
            onBatch: (start, vectors) => {
              const w = write(start, vectors);
              w.catch(() => {}); // reported by `landing`
              writes.push(w);
            },
          },
        );
        if (signal.aborted) {
          finished.push(Promise.allSettled(writes));
          return { go: false };
        }
        const landing = (async () => {
          try {
            await Promise.all(writes);
          } catch (e) {
            await Promise.allSettled(writes);
            if (signal.aborted) return;
            return await failDocument(doc, e).then(() => documentDone(doc));
          }
          if (!await stillThere()) {
            await space?.deleteDocuments([doc.id]); // a batch may have landed before the delete
            return documentDone(doc);
          }
          // Not waited for: the next documents' requests go out while this commits. A kill -9
          // before it lands leaves the document `indexing` with every chunk stored; the resumed
          // job finds nothing missing and marks it indexed.
          finished.push(commits.update(doc.id, (d) => ({
            ...d,
            state: "indexed",
            error: null,
            errorKind: null,
            title: extracted.title,
            format: extracted.format,
            pages: extracted.pages,
            chunks: chunks.length,
            indexedAt: deps.now(),
          })));
          documentDone(doc);
        })().catch((e) => {
          failure ??= e;
        });
        finished.push(landing);
        return { go: true, landing };
      } catch (e) {
        if (signal.aborted) {
          finished.push(Promise.allSettled(writes));
          return { go: false };
        }
        await Promise.allSettled(writes); // none may land after the failed document's delete
        await marked;
        await failDocument(doc, e);
        documentDone(doc);
        return { go: true };
      }
    };
    // A few documents at a time, so one's reads and commits overlap another's embedding calls
    // (the embedder still keeps at most its `concurrency` requests in flight). A document's
    // bytes count until its chunks have landed.
    let next = 0;
    let holding = 0;
    let released: (() => void)[] = [];
    const release = (doc: LibraryDocument) => {
      holding -= doc.size;
      const wake = released;
      released = [];
      wake.forEach((r) => r());
    };
    // Worker k starts once worker k-1's first document has its embedding request out (or is
    // done): started all at once, the first request waited for every worker's reads, extraction
    // and chunking (≈ 6 of the ≈ 25 ms from the import request to the first embedding request).
    const gates = Array.from(
      { length: DOCUMENTS_AT_ONCE + 1 },
      () => Promise.withResolvers<void>(),
    );
    gates[0].resolve();
    const worker = async (k: number) => {
      await gates[k].promise;
      const open = () => gates[k + 1].resolve();
      try {
        await work(open);
      } finally {
        open();
      }
    };
    const work = async (open: () => void) => {
      while (!stopped && failure === null && next < todo.length) {
        const doc = todo[next++];
        while (holding > 0 && holding + doc.size > BYTES_AT_ONCE) {
          await new Promise<void>((r) => released.push(r));
        }
        holding += doc.size;
        let landing: Promise<void> | undefined;
        try {
          const out = await indexOne(doc, open);
          if (!out.go) stopped = true;
          landing = out.landing;
        } catch (e) {
          failure ??= e;
        } finally {
          open();
          if (landing) landing.finally(() => release(doc));
          else release(doc);
        }
      }
    };
    await Promise.all(
      Array.from({ length: Math.min(DOCUMENTS_AT_ONCE, todo.length) }, (_, k) => worker(k)),
    );
    // Landings add the commits they make: wait until none is left.
    while (finished.length) await Promise.all(finished.splice(0));
    if (failure !== null) throw failure;
    if (stopped) return;
    // Done: a finished re-index becomes the searchable index and the old space goes.
    collection = await current(deps, collectionId, target.generation);
    if (!collection) return;
    if (collection.building) {
      const old = collection.index.generation;
      await setState({ index: collection.building, building: null });
      await index.drop(spaceName(collectionId, old));
    }
    progressEvents.flushHeld(); // the last counts while indexing, with the current file
    progress.currentFile = null;
    progress.state = "idle";
    await setState({ state: "idle", error: null });
    progressEvents.flush();
    // Every chunk is searchable already: merging the keyword index's segments (on the index's
    // writer thread) need not keep the collection `indexing`, and cannot fail the job.
    await space?.optimize().catch((e) =>
      deps.log(`library job ${collectionId}: optimize: ${e instanceof Error ? e.message : e}`)
    );
  } catch (e) {
    while (finished.length) await Promise.allSettled(finished.splice(0));
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
    progressEvents.flush();
  } finally {
    progressEvents.stop(); // nothing held goes out after the job
  }
}
