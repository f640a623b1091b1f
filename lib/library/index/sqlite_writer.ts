/**
 * The index's chunk writes on a second thread. Inserting a batch (the FTS5 trigger tokenising
 * every text, the B-tree pages of 3 KB vectors, the commit that flushes FTS5's segment) is CPU
 * work of milliseconds per batch; on the main thread it kept the event loop from sending the next
 * embedding request and reading the answers that had come in, so the embedding server waited on
 * deepstudio (the indexing bench's profile: SQLite's `run` and `exec` were 180 of 450 ms busy).
 * Here a Worker owns a second connection to the same file and does the inserts; the main thread
 * only copies the rows over.
 *
 * - Durable as before: an `add` resolves once its rows are committed (one transaction per group,
 *   WAL), so a kill -9 loses at most what had not been acknowledged, never half a batch.
 * - Grouped: adds asked for while a commit is in flight go together in the next transaction, each
 *   checked on its own (a space dropped meanwhile fails only its own adds).
 * - The main connection sees the rows as another connection's commit: `PRAGMA data_version`
 *   moves and the space's in-memory vectors append them (`sqlite_vectors.ts`).
 * - The worker's code is a string run from a Blob URL, so it works the same from source, from
 *   the one-file bundle and from the compiled binary (a worker module file would be left out of
 *   the bundle).
 */
import { WAL_CHECKPOINT_PAGES } from "./sqlite_schema.ts";
import { IndexError } from "./types.ts";

/** One chunk row without its vector, in the order of the INSERT's columns after `space`. */
export type ChunkRow = [
  id: string,
  collectionId: string,
  documentId: string,
  ord: number,
  page: number | null,
  heading: string | null,
  start: number,
  end: number,
  text: string,
];

/** One add: rows and their vectors, row after row in one buffer (moved to the worker, not copied). */
interface Add {
  space: string;
  rows: ChunkRow[];
  vectors: ArrayBuffer;
}

/** What the worker is asked: inserts of several spaces in one transaction, or FTS maintenance. */
type Request =
  | { id: number; kind: "add"; adds: Add[] }
  | { id: number; kind: "optimize" }
  | { id: number; kind: "checkpoint" }
  | { id: number; kind: "close" };

/** Per add: rows inserted, or null when its space no longer exists. */
type Reply = { id: number; inserted?: (number | null)[]; error?: string };

/** Runs inside the worker (stringified: it may use nothing from this module's scope). */
function writerMain(file: string, busyMs: number, checkpointPages: number) {
  const scope = self as unknown as {
    onmessage: (e: MessageEvent) => void;
    postMessage: (m: unknown) => void;
  };
  const ready = import("node:sqlite").then(({ DatabaseSync }) => {
    const db = new DatabaseSync(file);
    db.exec(`PRAGMA busy_timeout = ${busyMs}`);
    // Per connection (WAL mode is the file's, set by the main connection's schema).
    db.exec(`PRAGMA synchronous = NORMAL`);
    db.exec(`PRAGMA wal_autocheckpoint = ${checkpointPages}`);
    return {
      db,
      exists: db.prepare(`SELECT 1 FROM spaces WHERE name = ?`),
      // OR IGNORE: a chunk already committed (a retried batch, a second process on the same
      // collection) stays as it is; the UNIQUE key means no duplicate can ever exist.
      insert: db.prepare(
        `INSERT OR IGNORE INTO chunks (space, id, collection_id, document_id, ord, page, heading, start, "end", text, vector)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
    };
  });
  scope.onmessage = async (e: MessageEvent) => {
    const req = e.data as Request;
    try {
      const { db, exists, insert } = await ready;
      if (req.kind === "close") {
        db.close(); // before the worker ends, so the file is free when close() resolves
        return scope.postMessage({ id: req.id });
      }
      if (req.kind === "checkpoint") {
        db.exec(`PRAGMA wal_checkpoint(PASSIVE)`);
        return scope.postMessage({ id: req.id });
      }
      if (req.kind === "optimize") {
        db.exec(`INSERT INTO chunks_fts (chunks_fts) VALUES ('optimize')`);
        db.exec(`PRAGMA wal_checkpoint(TRUNCATE)`);
        return scope.postMessage({ id: req.id });
      }
      db.exec("BEGIN IMMEDIATE");
      try {
        const inserted = req.adds.map(({ space, rows, vectors }) => {
          if (!exists.get(space)) return null;
          const size = vectors.byteLength / rows.length;
          let n = 0;
          rows.forEach((r, i) => {
            const vector = new Uint8Array(vectors, i * size, size);
            n += Number(insert.run(space, ...r, vector).changes);
          });
          return n;
        });
        db.exec("COMMIT");
        scope.postMessage({ id: req.id, inserted });
      } catch (err) {
        db.exec("ROLLBACK");
        throw err;
      }
    } catch (err) {
      scope.postMessage({ id: req.id, error: err instanceof Error ? err.message : String(err) });
    }
  };
}

interface Queued extends Add {
  resolve: () => void;
  reject: (e: unknown) => void;
}

/** The write side of one index file. */
export class SqliteWriter {
  #worker: Worker | null = null;
  #nextId = 0;
  #replies = new Map<number, (r: Reply) => void>();
  #queue: Queued[] = [];
  #busy = false;

  constructor(private file: string, private busyMs = 5000) {}

  #start(): Worker {
    if (this.#worker) return this.#worker;
    const args = [this.file, this.busyMs, WAL_CHECKPOINT_PAGES].map((a) => JSON.stringify(a))
      .join(",");
    const url = URL.createObjectURL(
      new Blob([`(${writerMain.toString()})(${args});`], { type: "text/javascript" }),
    );
    const worker = new Worker(url, { type: "module" });
    URL.revokeObjectURL(url);
    worker.onmessage = (e: MessageEvent) => {
      const reply = e.data as Reply;
      this.#replies.get(reply.id)?.(reply);
      this.#replies.delete(reply.id);
    };
    worker.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      const replies = [...this.#replies.values()];
      this.#replies.clear();
      for (const r of replies) r({ id: -1, error: e.message });
    };
    return this.#worker = worker;
  }

  #ask(req: Request, transfer: ArrayBuffer[] = []): Promise<Reply> {
    const worker = this.#start();
    return new Promise((resolve) => {
      this.#replies.set(req.id, resolve);
      worker.postMessage(req, transfer);
    });
  }

  /**
   * Inserts `rows` into `space` (rows already there are kept); resolves once committed.
   * `vectors` holds the rows' vectors one after the other; it is moved to the writer (detached).
   */
  add(space: string, rows: ChunkRow[], vectors: ArrayBuffer): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ space, rows, vectors, resolve, reject });
      if (!this.#busy) this.#pump();
    });
  }

  async #pump(): Promise<void> {
    this.#busy = true;
    while (this.#queue.length) {
      const group = this.#queue.splice(0);
      const reply = await this.#ask({
        id: this.#nextId++,
        kind: "add",
        adds: group.map(({ space, rows, vectors }) => ({ space, rows, vectors })),
      }, group.map((q) => q.vectors));
      group.forEach((q, i) => {
        if (reply.error !== undefined) q.reject(new Error(reply.error));
        else if (reply.inserted![i] === null) {
          // Dropped meanwhile (its collection deleted, perhaps by another process): adding
          // would leave orphan chunks of a space nobody lists.
          q.reject(new IndexError("unavailable", `Index ${q.space} was deleted`));
        } else q.resolve();
      });
    }
    this.#busy = false;
  }

  /** FTS5 segments merged into one and the WAL checkpointed, off the main thread. */
  async optimize(): Promise<void> {
    const reply = await this.#ask({ id: this.#nextId++, kind: "optimize" });
    if (reply.error !== undefined) throw new Error(reply.error);
  }

  /**
   * Copies the WAL's committed pages into the file, off the main thread, without waiting for
   * readers (the main connection never checkpoints: `sqlite_schema.ts`).
   */
  async checkpoint(): Promise<void> {
    const reply = await this.#ask({ id: this.#nextId++, kind: "checkpoint" });
    if (reply.error !== undefined) throw new Error(reply.error);
  }

  /** Waits for the writes asked for so far, then stops the worker. */
  async close(): Promise<void> {
    while (this.#busy || this.#replies.size) {
      await new Promise((r) => setTimeout(r, 1));
    }
    if (!this.#worker) return;
    await this.#ask({ id: this.#nextId++, kind: "close" });
    this.#worker.terminate();
    this.#worker = null;
  }
}
