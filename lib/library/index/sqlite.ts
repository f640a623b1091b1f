/**
 * The embedded index: one SQLite file through `node:sqlite`, which ships inside the Deno runtime
 * (no native module, no --allow-ffi, nothing extra in the Docker image or the compiled binary).
 * Chosen by measurement over LanceDB in docs/decisions/library-index.md.
 *
 * - Durable: WAL journal; every `add`/`delete` is one transaction, so a kill -9 loses at most
 *   the transaction in flight and never leaves a half-written batch. A second process opening the
 *   same file works (SQLite's locking serialises writers; `busy_timeout` waits instead of failing).
 * - Keyword: FTS5 with BM25 ranking (porter stemming over unicode61 tokens), an external-content
 *   table kept in step by triggers inside the same transaction.
 * - Vector: exact cosine similarity over the space's vectors, held in memory as one normalised
 *   Float32Array once the space is first searched (loaded lazily; idle RSS is untouched).
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
import { VectorMatrix } from "./vectors.ts";

const SCHEMA = `
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
CREATE TABLE IF NOT EXISTS spaces (name TEXT PRIMARY KEY, dimensions INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS chunks (
  rowid INTEGER PRIMARY KEY,
  space TEXT NOT NULL,
  id TEXT NOT NULL,
  collection_id TEXT NOT NULL,
  document_id TEXT NOT NULL,
  ord INTEGER NOT NULL,
  page INTEGER,
  heading TEXT,
  start INTEGER NOT NULL,
  "end" INTEGER NOT NULL,
  text TEXT NOT NULL,
  vector BLOB NOT NULL,
  UNIQUE (space, id)
);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks (space, document_id, ord);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(
  text, content = 'chunks', content_rowid = 'rowid', tokenize = 'porter unicode61'
);
CREATE TRIGGER IF NOT EXISTS chunks_ai AFTER INSERT ON chunks BEGIN
  INSERT INTO chunks_fts (rowid, text) VALUES (new.rowid, new.text);
END;
CREATE TRIGGER IF NOT EXISTS chunks_ad AFTER DELETE ON chunks BEGIN
  INSERT INTO chunks_fts (chunks_fts, rowid, text) VALUES ('delete', old.rowid, old.text);
END;
`;

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

/**
 * A user's words as an FTS5 query: each word quoted (so `AND`, `*`, `:` or quotes in the text
 * are never operators), joined by OR so BM25 ranks chunks with more of the words first.
 */
export function ftsQuery(text: string): string | null {
  const words = text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  const unique = [...new Set(words)].slice(0, 32);
  return unique.length ? unique.map((w) => `"${w}"`).join(" OR ") : null;
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

class SqliteSpace implements IndexSpace {
  #matrix: VectorMatrix | null = null;
  #insert: StatementSync;

  constructor(readonly name: string, readonly dimensions: number, private db: DatabaseSync) {
    this.#insert = db.prepare(
      // OR IGNORE: a chunk already committed (by a retried batch, or a second process working on
      // the same collection) stays as it is; the UNIQUE key means no duplicate can ever exist.
      `INSERT OR IGNORE INTO chunks (space, id, collection_id, document_id, ord, page, heading, start, "end", text, vector)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
  }

  add(chunks: ChunkRecord[]): Promise<void> {
    for (const c of chunks) {
      if (c.vector.length !== this.dimensions) {
        throw new IndexError(
          "dimensions",
          `A chunk has ${c.vector.length} dimensions; this index holds ${this.dimensions}`,
        );
      }
    }
    const rowids = transaction(this.db, () =>
      chunks.map((c) => {
        const r = this.#insert.run(
          this.name,
          c.id,
          c.collectionId,
          c.documentId,
          c.ord,
          c.page,
          c.heading,
          c.start,
          c.end,
          c.text,
          new Uint8Array(c.vector.buffer, c.vector.byteOffset, c.vector.byteLength),
        );
        return Number(r.changes) > 0 ? Number(r.lastInsertRowid) : null;
      }));
    chunks.forEach((c, i) => {
      const rowid = rowids[i];
      if (rowid !== null) this.#matrix?.append(rowid, c.documentId, c.vector);
    });
    return Promise.resolve();
  }

  deleteDocuments(documentIds: string[]): Promise<void> {
    documentIds.forEach(checkIdentifier);
    if (documentIds.length === 0) return Promise.resolve();
    const del = this.db.prepare(`DELETE FROM chunks WHERE space = ? AND document_id = ?`);
    transaction(this.db, () => documentIds.forEach((d) => del.run(this.name, d)));
    this.#matrix = null;
    return Promise.resolve();
  }

  retainDocuments(keep: string[]): Promise<number> {
    keep.forEach(checkIdentifier);
    const keepSet = new Set(keep);
    const docs = this.db.prepare(`SELECT DISTINCT document_id FROM chunks WHERE space = ?`)
      .all(this.name).map((r) => String(r.document_id)).filter((d) => !keepSet.has(d));
    if (docs.length === 0) return Promise.resolve(0);
    const before = this.#countSync();
    return this.deleteDocuments(docs).then(() => before - this.#countSync());
  }

  ordsOf(documentId: string): Promise<number[]> {
    checkIdentifier(documentId);
    const rows = this.db.prepare(
      `SELECT ord FROM chunks WHERE space = ? AND document_id = ? ORDER BY ord`,
    ).all(this.name, documentId);
    return Promise.resolve(rows.map((r) => Number(r.ord)));
  }

  #countSync(documentId?: string): number {
    const row = documentId
      ? this.db.prepare(`SELECT count(*) AS n FROM chunks WHERE space = ? AND document_id = ?`)
        .get(this.name, documentId)
      : this.db.prepare(`SELECT count(*) AS n FROM chunks WHERE space = ?`).get(this.name);
    return Number(row?.n ?? 0);
  }

  count(documentId?: string): Promise<number> {
    return Promise.resolve(this.#countSync(documentId));
  }

  #loadMatrix(): VectorMatrix {
    if (this.#matrix) return this.#matrix;
    const matrix = new VectorMatrix(this.dimensions);
    const rows = this.db.prepare(`SELECT rowid, document_id, vector FROM chunks WHERE space = ?`)
      .iterate(this.name);
    for (const r of rows) {
      const bytes = r.vector as Uint8Array;
      matrix.append(
        Number(r.rowid),
        String(r.document_id),
        new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4),
      );
    }
    return this.#matrix = matrix;
  }

  #rowsById(rowids: number[]): Map<number, StoredChunk> {
    const out = new Map<number, StoredChunk>();
    if (rowids.length === 0) return out;
    const rows = this.db.prepare(
      `SELECT ${COLUMNS} FROM chunks WHERE rowid IN (${rowids.map(() => "?").join(",")})`,
    ).all(...rowids);
    for (const r of rows) out.set(Number(r.rowid), toStored(r));
    return out;
  }

  search(query: IndexQuery): Promise<IndexHit[]> {
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
      const top = this.#loadMatrix().nearest(query.vector, depth, docs);
      const rows = this.#rowsById(top.map((t) => t.rowid));
      lists.push({
        signal: "vector",
        items: top.map((t) => ({ chunk: rows.get(t.rowid)!, score: t.score }))
          .filter((i) => i.chunk),
      });
    }
    const match = query.text ? ftsQuery(query.text) : null;
    if (match) {
      const docFilter = docs ? `AND c.document_id IN (${[...docs].map(() => "?").join(",")})` : "";
      const rows = this.db.prepare(
        `SELECT c.rowid, c.id, c.collection_id, c.document_id, c.ord, c.page, c.heading, c.start,
                c."end", c.text, bm25(chunks_fts) AS bm25
         FROM chunks_fts JOIN chunks c ON c.rowid = chunks_fts.rowid
         WHERE chunks_fts MATCH ? AND c.space = ? ${docFilter}
         ORDER BY bm25 LIMIT ?`,
      ).all(match, this.name, ...(docs ? [...docs] : []), depth);
      // FTS5's bm25() is negative, lower is better: report the conventional positive score.
      lists.push({
        signal: "keyword",
        items: rows.map((r) => ({ chunk: toStored(r), score: -Number(r.bm25) })),
      });
    }
    return Promise.resolve(fuse(lists, query.k));
  }

  optimize(): Promise<void> {
    this.db.exec(`INSERT INTO chunks_fts (chunks_fts) VALUES ('optimize')`);
    this.db.exec(`PRAGMA wal_checkpoint(TRUNCATE)`);
    return Promise.resolve();
  }
}

/** The file the index lives in, inside the data directory given to `openSqliteIndex`. */
export const INDEX_FILE = "library.sqlite";

/** Opens (creating) the index in `dir`. */
export function openSqliteIndex(dir: string): Promise<LibraryIndex> {
  Deno.mkdirSync(dir, { recursive: true });
  const db = new DatabaseSync(join(dir, INDEX_FILE));
  db.exec(`PRAGMA busy_timeout = 5000`);
  db.exec(SCHEMA);
  const open = new Map<string, SqliteSpace>();

  const existing = (name: string): SqliteSpace | null => {
    checkIdentifier(name);
    const cached = open.get(name);
    if (cached) return cached;
    const row = db.prepare(`SELECT dimensions FROM spaces WHERE name = ?`).get(name);
    if (!row) return null;
    const space = new SqliteSpace(name, Number(row.dimensions), db);
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
      return Promise.resolve();
    },
    names: () =>
      Promise.resolve(
        db.prepare(`SELECT name FROM spaces ORDER BY name`).all().map((r) => String(r.name)),
      ),
    close() {
      open.clear();
      if (db.isOpen) db.close();
      return Promise.resolve();
    },
  };
  return Promise.resolve(index);
}
