/**
 * The index file's schema, and its one migration so far.
 *
 * Chunk rowids only grow (`AUTOINCREMENT`): the in-memory vectors (`sqlite_vectors.ts`) follow
 * other connections' commits by appending the rows past the newest rowid they hold, and a load
 * in slices reads the rows committed meanwhile the same way. A plain `INTEGER PRIMARY KEY` hands
 * out max(rowid) + 1, so after the newest rows are deleted (a document re-indexed, removed) the
 * next ones would get rowids already seen: appended by nobody, and when the count happened to
 * match, searched with the deleted rows' vectors and documents in their place.
 * Files made before that are rebuilt once on open (rowids kept, so the FTS5 index, which refers
 * to them, stays valid), in one transaction: a kill -9 during it leaves the old table as it was.
 */
import type { DatabaseSync } from "node:sqlite";

/** The chunks table; `{name}` is replaced by the table's name. */
const CHUNKS_TABLE = `
CREATE TABLE IF NOT EXISTS {name} (
  rowid INTEGER PRIMARY KEY AUTOINCREMENT,
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
`;

/**
 * WAL pages after which a commit of the index's writer thread (`sqlite_writer.ts`) checkpoints
 * (SQLite's default is 1 000, 4 MB). At the default an indexing job checkpointed every ≈ 600
 * chunks inside a writer commit: copying the pages back and two fsyncs stalled the writer 40-55 ms
 * each time, and the FTS5 pages rewritten after it were copied again at the next one. 1 270 chunks
 * through this schema (batches of 32) took 260-290 ms at the default, 140-180 ms at 8 192 pages;
 * 6 350 chunks 1.4-1.6 s at the default, 0.77-0.88 s at 16 384 (docs/decisions/library-index.md,
 * "Indexing overhead", sixth round). The WAL is checkpointed and truncated after each job
 * (`SqliteWriter.optimize`), so it stays under this (64 MB) while a job runs and shrinks after.
 * Durability is the same: a commit is in the WAL as before; a checkpoint only copies committed
 * pages into the main file.
 */
export const WAL_CHECKPOINT_PAGES = 16_384;

/**
 * Outside any transaction (the journal mode cannot change inside one). The main connection never
 * checkpoints on its own commits: with the WAL allowed to grow to `WAL_CHECKPOINT_PAGES`, one
 * would copy up to 64 MB on the event loop; its large writes ask the writer thread instead
 * (`SqliteWriter.checkpoint`).
 */
const PRAGMAS =
  `PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA wal_autocheckpoint = 0;`;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS spaces (name TEXT PRIMARY KEY, dimensions INTEGER NOT NULL);
${CHUNKS_TABLE.replace("{name}", "chunks")}
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

const COPIED =
  `rowid, space, id, collection_id, document_id, ord, page, heading, start, "end", text, vector`;

/** Whether the file's chunks table predates AUTOINCREMENT (false for a new file). */
function needsMonotonicRowids(db: DatabaseSync): boolean {
  const row = db.prepare(`SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'chunks'`)
    .get();
  return row !== undefined && !/AUTOINCREMENT/i.test(String(row.sql));
}

/** Creates the schema, or brings an older file's up to it. */
export function openSchema(db: DatabaseSync): void {
  db.exec(PRAGMAS);
  if (needsMonotonicRowids(db)) {
    db.exec("BEGIN IMMEDIATE");
    try {
      // Checked again under the write lock: another process may have migrated meanwhile.
      if (needsMonotonicRowids(db)) {
        db.exec(`DROP TRIGGER IF EXISTS chunks_ai; DROP TRIGGER IF EXISTS chunks_ad;`);
        db.exec(CHUNKS_TABLE.replace("{name}", "chunks_next"));
        db.exec(`INSERT INTO chunks_next (${COPIED}) SELECT ${COPIED} FROM chunks ORDER BY rowid`);
        db.exec(`DROP TABLE chunks; ALTER TABLE chunks_next RENAME TO chunks;`);
        db.exec(SCHEMA); // the index and the triggers, on the new table
      }
      db.exec("COMMIT");
    } catch (e) {
      db.exec("ROLLBACK");
      throw e;
    }
  }
  db.exec(SCHEMA);
}
