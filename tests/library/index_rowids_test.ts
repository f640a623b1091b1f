/**
 * Chunk rowids only grow (lib/library/index/sqlite_schema.ts): the in-memory vectors follow other
 * connections' commits by the rows past the newest rowid they hold, so a rowid handed out again
 * after a delete would be missed, or, when the count matched, searched with the deleted row's
 * vector and document. Files of the older schema are migrated on open, rowids and FTS kept.
 */
import { assert, assertEquals } from "../assert.ts";
import { DatabaseSync } from "node:sqlite";
import { INDEX_FILE, openSqliteIndex } from "../../lib/library/index/sqlite.ts";
import { axisVector, chunk } from "./index_conformance.ts";

const DIMS = 8;

Deno.test("sqlite: a document re-indexed elsewhere after the newest rows' delete is found by vector search", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ds-index-rowids-" });
  const a = await openSqliteIndex(dir);
  const b = await openSqliteIndex(dir);
  try {
    const sa = await a.space("s1", DIMS);
    await sa.add([0, 1, 2].map((i) => chunk("dA", i, `alpha ${i}`, DIMS, i)));
    await sa.add([0, 1, 2].map((i) => chunk("dB", i, `beta ${i}`, DIMS, 3 + i)));
    // `a` holds the six vectors in memory; `b` deletes the newest rows and adds as many again.
    assertEquals((await sa.search({ vector: axisVector(DIMS, 4), k: 1 }))[0].chunk.id, "dB:1");
    const sb = (await b.existing("s1"))!;
    await sb.deleteDocuments(["dB"]);
    await sb.add([0, 1, 2].map((i) => chunk("dC", i, `gamma ${i}`, DIMS, 5 + i)));
    const hits = await sa.search({ vector: axisVector(DIMS, 6), documentIds: ["dC"], k: 3 });
    assertEquals(hits[0]?.chunk.id, "dC:1");
    const all = await sa.search({ vector: axisVector(DIMS, 6), k: 10 });
    assertEquals(all.map((h) => h.chunk.documentId).sort(), ["dA", "dA", "dA", "dC", "dC", "dC"]);
  } finally {
    await a.close();
    await b.close();
    await Deno.remove(dir, { recursive: true });
  }
});

/** The schema index files had before AUTOINCREMENT (as committed until December 2026). */
const OLD_SCHEMA = `
PRAGMA journal_mode = WAL;
CREATE TABLE spaces (name TEXT PRIMARY KEY, dimensions INTEGER NOT NULL);
CREATE TABLE chunks (
  rowid INTEGER PRIMARY KEY, space TEXT NOT NULL, id TEXT NOT NULL, collection_id TEXT NOT NULL,
  document_id TEXT NOT NULL, ord INTEGER NOT NULL, page INTEGER, heading TEXT,
  start INTEGER NOT NULL, "end" INTEGER NOT NULL, text TEXT NOT NULL, vector BLOB NOT NULL,
  UNIQUE (space, id)
);
CREATE INDEX chunks_doc ON chunks (space, document_id, ord);
CREATE VIRTUAL TABLE chunks_fts USING fts5(
  text, content = 'chunks', content_rowid = 'rowid', tokenize = 'porter unicode61'
);
CREATE TRIGGER chunks_ai AFTER INSERT ON chunks BEGIN
  INSERT INTO chunks_fts (rowid, text) VALUES (new.rowid, new.text);
END;
CREATE TRIGGER chunks_ad AFTER DELETE ON chunks BEGIN
  INSERT INTO chunks_fts (chunks_fts, rowid, text) VALUES ('delete', old.rowid, old.text);
END;
`;

Deno.test("sqlite: an index file of the older schema is migrated on open, rowids and keywords kept", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ds-index-migrate-" });
  try {
    const old = new DatabaseSync(`${dir}/${INDEX_FILE}`);
    old.exec(OLD_SCHEMA);
    old.prepare(`INSERT INTO spaces VALUES ('s1', ?)`).run(DIMS);
    const insert = old.prepare(
      `INSERT INTO chunks (space, id, collection_id, document_id, ord, page, heading, start, "end", text, vector)
       VALUES ('s1', ?, 'col1', ?, ?, NULL, NULL, 0, 1, ?, ?)`,
    );
    const words = ["apple", "banana", "cherry", "damson"];
    words.forEach((w, i) =>
      insert.run(`d${i}:0`, `d${i}`, 0, `${w} orchard`, new Uint8Array(axisVector(DIMS, i).buffer))
    );
    old.exec(`DELETE FROM chunks WHERE id = 'd3:0'`); // the newest rowid (4) is free again
    old.close();

    const index = await openSqliteIndex(dir);
    const db = new DatabaseSync(`${dir}/${INDEX_FILE}`);
    try {
      const sql = db.prepare(`SELECT sql FROM sqlite_master WHERE name = 'chunks'`).get()!.sql;
      assert(/AUTOINCREMENT/.test(String(sql)), String(sql));
      const rows = db.prepare(`SELECT rowid, id FROM chunks ORDER BY rowid`).all();
      assertEquals(rows.map((r) => [r.rowid, r.id]), [[1, "d0:0"], [2, "d1:0"], [3, "d2:0"]]);
      const space = (await index.existing("s1"))!;
      assertEquals((await space.search({ text: "banana", k: 5 })).map((h) => h.chunk.id), [
        "d1:0",
      ]);
      assertEquals((await space.search({ text: "damson", k: 5 })).length, 0);
      assertEquals((await space.search({ vector: axisVector(DIMS, 2), k: 1 }))[0].chunk.id, "d2:0");
      // New rows come after every rowid the file has had; the triggers work on the new table.
      await space.add([chunk("d9", 0, "elderberry", DIMS, 5)]);
      const added = db.prepare(`SELECT rowid FROM chunks WHERE id = 'd9:0'`).get()!;
      assert(Number(added.rowid) > 3, `rowid ${added.rowid}`);
      assertEquals((await space.search({ text: "elderberry", k: 5 })).map((h) => h.chunk.id), [
        "d9:0",
      ]);
      await space.deleteDocuments(["d1"]);
      assertEquals((await space.search({ text: "banana", k: 5 })).length, 0);
      assertEquals(await space.count(), 3);
    } finally {
      db.close();
      await index.close();
    }
    // Opening again finds nothing to migrate and keeps everything.
    const again = await openSqliteIndex(dir);
    assertEquals(await (await again.existing("s1"))!.count(), 3);
    await again.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
