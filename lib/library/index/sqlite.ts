/**
 * The embedded index: one SQLite file through `node:sqlite`, which ships inside the Deno runtime
 * (no native module, no --allow-ffi, nothing extra in the Docker image or the compiled binary).
 * Chosen by measurement over LanceDB in docs/decisions/library-index.md.
 *
 * - Durable: WAL journal; every `delete` is one transaction and so is every group of `add`s
 *   (committed on a writer thread, `sqlite_writer.ts`, and acknowledged once durable), so a
 *   kill -9 loses at most the transaction in flight and never leaves a half-written batch. A second process opening the
 *   same file works (SQLite's locking serialises writers; `busy_timeout` waits instead of failing).
 * - Keyword: FTS5 with BM25 ranking (porter stemming over unicode61 tokens), an external-content
 *   table kept in step by triggers inside the same transaction.
 * - Vector: the space's vectors held in memory as int8 rows (`vectors.ts`, loaded in slices when
 *   first needed and kept in step with the file by `sqlite_vectors.ts`; idle RSS is untouched)
 *   and scanned with WebAssembly SIMD for candidates, which are re-ranked by exact cosine
 *   similarity on their float32 vectors read back from the file.
 */
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { join } from "node:path";
import { fuse, type RankedList } from "./fuse.ts";
import {
  checkIdentifier,
  type ChunkRecord,
  IndexError,
  type IndexHit,
  type IndexQuery,
  type IndexSpace,
  type LibraryIndex,
  type StoredChunk,
} from "./types.ts";
import { KeywordPlanner } from "./keyword.ts";
import { SpaceVectors } from "./sqlite_vectors.ts";
import { type ChunkRow, SqliteWriter } from "./sqlite_writer.ts";
import { openSchema } from "./sqlite_schema.ts";

const COLUMNS = `rowid, id, collection_id, document_id, ord, page, heading, start, "end", text`;

type Row = Record<string, unknown>;

function toStored(row: Row): StoredChunk {
  return {
    id: String(row.id),
    collectionId: String(row.collection_id),
    documentId: String(row.document_id),
    ord: Number(row.ord),
    text: String(row.text),
    page: row.page === null ? null : Number(row.page),
    heading: row.heading === null ? null : String(row.heading),
    start: Number(row.start),
    end: Number(row.end),
  };
}

function transaction<T>(db: DatabaseSync, fn: () => T): T {
  db.exec("BEGIN IMMEDIATE");
  try {
    const out = fn();
    db.exec("COMMIT");
    return out;
  } catch (e) {
    db.exec("ROLLBACK");
    throw e;
  }
}

/**
 * `IN` over one parameter holding a JSON array: one statement prepared once, whatever the number
 * of values (a statement of n placeholders was prepared per search: 0.15-0.3 ms of the re-rank).
 */
const JSON_LIST = `(SELECT value FROM json_each(?))`;

/**
 * Int8 candidates re-ranked exactly per result wanted, and never fewer than this. The exact top
 * 20 of a search was found within the int8 top 20-31 in every case measured (100 000 uniform,
 * 50 000 skewed and tightly clustered 768-d vectors, 4 000 clustered 100-d ones; 20 queries
 * each: docs/decisions/library-index.md), so 4 × leaves room; each candidate's float32 vector
 * is a row read from SQLite (≈ 10 µs).
 */
const OVERSAMPLE = 4;
const MIN_CANDIDATES = 80;

class SqliteSpace implements IndexSpace {
  #vectors: SpaceVectors;
  #keywords: KeywordPlanner;
  /** Statements of fixed text, prepared once (a job asks per document). */
  #statements = new Map<string, StatementSync>();

  #sql(sql: string): StatementSync {
    let st = this.#statements.get(sql);
    if (!st) this.#statements.set(sql, st = this.db.prepare(sql));
    return st;
  }

  constructor(
    readonly name: string,
    readonly dimensions: number,
    private db: DatabaseSync,
    private writer: SqliteWriter,
    loadSlice?: number,
  ) {
    this.#vectors = new SpaceVectors(db, name, dimensions, loadSlice);
    this.#keywords = new KeywordPlanner(db);
  }

  /**
   * Committed by the writer thread (`sqlite_writer.ts`); the in-memory vectors pick the rows up
   * from the file as another connection's commit before the next search.
   */
  async add(chunks: ChunkRecord[]): Promise<void> {
    for (const c of chunks) {
      if (c.vector.length !== this.dimensions) {
        throw new IndexError(
          "dimensions",
          `A chunk has ${c.vector.length} dimensions; this index holds ${this.dimensions}`,
        );
      }
    }
    if (chunks.length === 0) return;
    const vectors = new Float32Array(chunks.length * this.dimensions);
    chunks.forEach((c, i) => vectors.set(c.vector, i * this.dimensions));
    await this.writer.add(
      this.name,
      chunks.map((c): ChunkRow => [
        c.id,
        c.collectionId,
        c.documentId,
        c.ord,
        c.page,
        c.heading,
        c.start,
        c.end,
        c.text,
      ]),
      vectors.buffer,
    );
  }

  deleteDocuments(documentIds: string[]): Promise<void> {
    documentIds.forEach(checkIdentifier);
    // Documents without chunks (a new one, as most are when a job starts on them) need no write
    // transaction: that would wait, blocking the event loop, for the writer thread's commit.
    const has = this.#sql(`SELECT 1 FROM chunks WHERE space = ? AND document_id = ? LIMIT 1`);
    const ids = documentIds.filter((d) => has.get(this.name, d));
    if (ids.length === 0) return Promise.resolve();
    const del = this.#sql(`DELETE FROM chunks WHERE space = ? AND document_id = ?`);
    transaction(this.db, () => ids.forEach((d) => del.run(this.name, d)));
    this.#vectors.deleted(ids);
    return Promise.resolve();
  }

  retainDocuments(keep: string[]): Promise<number> {
    keep.forEach(checkIdentifier);
    const keepSet = new Set(keep);
    const docs = this.#sql(`SELECT DISTINCT document_id FROM chunks WHERE space = ?`)
      .all(this.name).map((r) => String(r.document_id)).filter((d) => !keepSet.has(d));
    if (docs.length === 0) return Promise.resolve(0);
    const before = this.#countSync();
    return this.deleteDocuments(docs).then(() => before - this.#countSync());
  }

  ordsOf(documentId: string): Promise<number[]> {
    checkIdentifier(documentId);
    const rows = this.#sql(
      `SELECT ord FROM chunks WHERE space = ? AND document_id = ? ORDER BY ord`,
    ).all(this.name, documentId);
    return Promise.resolve(rows.map((r) => Number(r.ord)));
  }

  #countSync(documentId?: string): number {
    const row = documentId
      ? this.#sql(`SELECT count(*) AS n FROM chunks WHERE space = ? AND document_id = ?`)
        .get(this.name, documentId)
      : this.#sql(`SELECT count(*) AS n FROM chunks WHERE space = ?`).get(this.name);
    return Number(row?.n ?? 0);
  }

  count(documentId?: string): Promise<number> {
    return Promise.resolve(this.#countSync(documentId));
  }

  /** Loads the vectors now (in slices), so the first search need not wait for them. */
  async warm(): Promise<void> {
    await this.#vectors.ready();
  }

  /** Exact cosine similarity of `query` with the stored float32 vectors of `rowids`. */
  #rerank(query: Float32Array, rowids: number[], k: number): { rowid: number; score: number }[] {
    if (rowids.length === 0) return [];
    const d = this.dimensions;
    let qn = 0;
    for (let j = 0; j < d; j++) qn += query[j] * query[j];
    const qInv = qn > 0 ? 1 / Math.sqrt(qn) : 0;
    const rows = this.#sql(`SELECT rowid, vector FROM chunks WHERE rowid IN ${JSON_LIST}`)
      .all(JSON.stringify(rowids));
    const scored = rows.map((r) => {
      const bytes = r.vector as Uint8Array;
      const v = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
      let dot = 0;
      let n = 0;
      for (let j = 0; j < d; j++) {
        dot += v[j] * query[j];
        n += v[j] * v[j];
      }
      return { rowid: Number(r.rowid), score: n > 0 ? (dot / Math.sqrt(n)) * qInv : 0 };
    });
    return scored.sort((a, b) => b.score - a.score || a.rowid - b.rowid).slice(0, k);
  }

  #rowsById(rowids: number[]): Map<number, StoredChunk> {
    const out = new Map<number, StoredChunk>();
    if (rowids.length === 0) return out;
    const rows = this.#sql(`SELECT ${COLUMNS} FROM chunks WHERE rowid IN ${JSON_LIST}`)
      .all(JSON.stringify(rowids));
    for (const r of rows) out.set(Number(r.rowid), toStored(r));
    return out;
  }

  async search(query: IndexQuery): Promise<IndexHit[]> {
    const depth = Math.max(query.k * 2, 20);
    const docs = query.documentIds?.length ? new Set(query.documentIds) : null;
    const lists: RankedList[] = [];
    if (query.vector) {
      if (query.vector.length !== this.dimensions) {
        throw new IndexError(
          "dimensions",
          `The query has ${query.vector.length} dimensions; this index holds ${this.dimensions}`,
        );
      }
      const candidates = (await this.#vectors.ready()).candidates(
        query.vector,
        Math.max(depth * OVERSAMPLE, MIN_CANDIDATES),
        docs,
      );
      const top = this.#rerank(query.vector, candidates.map((c) => c.rowid), depth);
      const rows = this.#rowsById(top.map((t) => t.rowid));
      lists.push({
        signal: "vector",
        items: top.map((t) => ({ chunk: rows.get(t.rowid)!, score: t.score }))
          .filter((i) => i.chunk),
      });
    }
    const match = query.text ? this.#keywords.plan(query.text, !query.vector) : null;
    if (match) {
      const docFilter = docs ? `AND c.document_id IN ${JSON_LIST}` : "";
      const rows = this.#sql(
        `SELECT c.rowid, c.id, c.collection_id, c.document_id, c.ord, c.page, c.heading, c.start,
                c."end", c.text, bm25(chunks_fts) AS bm25
         FROM chunks_fts JOIN chunks c ON c.rowid = chunks_fts.rowid
         WHERE chunks_fts MATCH ? AND c.space = ? ${docFilter}
         ORDER BY bm25 LIMIT ?`,
      ).all(match, this.name, ...(docs ? [JSON.stringify([...docs])] : []), depth);
      // FTS5's bm25() is negative, lower is better: report the conventional positive score.
      lists.push({
        signal: "keyword",
        items: rows.map((r) => ({ chunk: toStored(r), score: -Number(r.bm25) })),
      });
    }
    return fuse(lists, query.k);
  }

  /** On the writer thread: merging FTS5's segments rewrites them, which takes a while. */
  optimize(): Promise<void> {
    return this.writer.optimize();
  }
}

/** The file the index lives in, inside the data directory given to `openSqliteIndex`. */
export const INDEX_FILE = "library.sqlite";

/** Opens (creating) the index in `dir`; `loadSlice`: rows per slice of a vector load (tests). */
export function openSqliteIndex(
  dir: string,
  opts: { loadSlice?: number } = {},
): Promise<LibraryIndex> {
  Deno.mkdirSync(dir, { recursive: true });
  const db = new DatabaseSync(join(dir, INDEX_FILE));
  db.exec(`PRAGMA busy_timeout = 5000`);
  openSchema(db);
  const writer = new SqliteWriter(join(dir, INDEX_FILE));
  const open = new Map<string, SqliteSpace>();

  const existing = (name: string): SqliteSpace | null => {
    checkIdentifier(name);
    const cached = open.get(name);
    if (cached) return cached;
    const row = db.prepare(`SELECT dimensions FROM spaces WHERE name = ?`).get(name);
    if (!row) return null;
    const space = new SqliteSpace(name, Number(row.dimensions), db, writer, opts.loadSlice);
    open.set(name, space);
    return space;
  };

  const index: LibraryIndex = {
    space(name, dimensions) {
      let space = existing(name);
      if (!space) {
        db.prepare(`INSERT OR IGNORE INTO spaces (name, dimensions) VALUES (?, ?)`)
          .run(name, dimensions);
        space = existing(name)!;
      }
      if (space.dimensions !== dimensions) {
        return Promise.reject(
          new IndexError(
            "dimensions",
            `Index ${name} holds ${space.dimensions}-dimensional vectors, not ${dimensions}`,
            "Re-index the collection to change its embedding model.",
          ),
        );
      }
      return Promise.resolve(space);
    },
    existing: (name) => {
      try {
        return Promise.resolve(existing(name));
      } catch (e) {
        return Promise.reject(e);
      }
    },
    drop(name) {
      checkIdentifier(name);
      transaction(db, () => {
        db.prepare(`DELETE FROM chunks WHERE space = ?`).run(name);
        db.prepare(`DELETE FROM spaces WHERE name = ?`).run(name);
      });
      open.delete(name);
      // A whole space's rows and keyword entries deleted: a WAL as large as the space, which the
      // main connection does not checkpoint (sqlite_schema.ts). Copied back off the main thread.
      writer.checkpoint().catch(() => {}); // best effort: the next job's commits checkpoint too
      return Promise.resolve();
    },
    names: () =>
      Promise.resolve(
        db.prepare(`SELECT name FROM spaces ORDER BY name`).all().map((r) => String(r.name)),
      ),
    async close() {
      open.clear();
      await writer.close();
      if (db.isOpen) db.close();
    },
  };
  return Promise.resolve(index);
}
