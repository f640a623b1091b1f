/**
 * A job's document-state commits, grouped. Every Deno KV commit is a durable write of a few
 * milliseconds; a job wrote two per document (`indexing` before its chunks, `indexed` after) and
 * waited on each, which kept the embedding server idle between documents
 * (docs/decisions/library-index.md, "Indexing overhead"). Here changes queue up while a commit
 * is in flight and go in the next one, up to ten documents per atomic commit, in the order they
 * were asked for, so a document's `indexed` never lands before its `indexing`.
 */
import { GET_MANY_MAX, type LibraryStore } from "./store.ts";
import type { LibraryDocument } from "./types.ts";

/** Documents per commit: KV's `getMany` reads at most ten keys. */
const GROUP = GET_MANY_MAX;

interface Pending {
  docId: string;
  change: (d: LibraryDocument) => LibraryDocument;
  resolve: (d: LibraryDocument | null) => void;
  reject: (e: unknown) => void;
}

/** Grouped document updates of one collection. */
export class DocumentCommits {
  #pending: Pending[] = [];
  #flushing: Promise<void> | null = null;

  constructor(
    private store: LibraryStore,
    private collectionId: string,
    /** Called with each stored document as its commit lands (for the `document` event). */
    private committed: (d: LibraryDocument) => void,
  ) {}

  /** Queues `change`; resolves with the stored document (null: deleted meanwhile) once durable. */
  update(
    docId: string,
    change: (d: LibraryDocument) => LibraryDocument,
  ): Promise<LibraryDocument | null> {
    const done = new Promise<LibraryDocument | null>((resolve, reject) =>
      this.#pending.push({ docId, change, resolve, reject })
    );
    this.#flushing ??= this.#flush();
    return done;
  }

  /** The next group: at most GROUP changes, each document once (a second change waits). */
  #take(): Pending[] {
    const ids = new Set<string>();
    let n = 0;
    while (n < this.#pending.length && n < GROUP && !ids.has(this.#pending[n].docId)) {
      ids.add(this.#pending[n++].docId);
    }
    return this.#pending.splice(0, n);
  }

  async #flush(): Promise<void> {
    // Let the changes asked for in this turn of the event loop join the first commit.
    await Promise.resolve();
    while (this.#pending.length) {
      const group = this.#take();
      try {
        const out = await this.store.updateDocuments(
          this.collectionId,
          group.map((p) => [p.docId, p.change]),
        );
        group.forEach((p, i) => {
          const d = out[i];
          if (d) this.committed(d);
          p.resolve(d);
        });
      } catch (e) {
        group.forEach((p) => p.reject(e));
      }
    }
    this.#flushing = null;
  }

  /** Resolves once everything queued so far is committed (or has failed). */
  async settle(): Promise<void> {
    while (this.#flushing) await this.#flushing;
  }
}
