/** The SQLite index passes the index conformance suite, and follows other processes' writes. */
import { assert, assertEquals } from "../assert.ts";
import { DatabaseSync } from "node:sqlite";
import { INDEX_FILE, openSqliteIndex } from "../../lib/library/index/sqlite.ts";
import { SpaceVectors } from "../../lib/library/index/sqlite_vectors.ts";
import { axisVector, chunk, indexConformance } from "./index_conformance.ts";
import { indexScaleConformance, rng } from "./index_conformance_scale.ts";

indexConformance("sqlite", openSqliteIndex);
indexScaleConformance("sqlite", openSqliteIndex);

Deno.test("sqlite: a search sees chunks another connection added and deleted since", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ds-index-two-" });
  const a = await openSqliteIndex(dir);
  const b = await openSqliteIndex(dir);
  try {
    const dims = 8;
    const sa = await a.space("s1", dims);
    await sa.add([0, 1].map((i) => chunk(`d${i}`, 0, `text ${i}`, dims, i)));
    // `a` now holds the vectors in memory; `b` writes behind its back.
    assertEquals((await sa.search({ vector: axisVector(dims, 1), k: 1 }))[0].chunk.id, "d1:0");
    const sb = (await b.existing("s1"))!;
    await sb.add([chunk("d5", 0, "text 5", dims, 5)]);
    assertEquals((await sa.search({ vector: axisVector(dims, 5), k: 1 }))[0].chunk.id, "d5:0");
    await sb.deleteDocuments(["d5", "d1"]);
    const left = await sa.search({ vector: axisVector(dims, 5), k: 5 });
    assertEquals(left.map((h) => h.chunk.id), ["d0:0"]);
  } finally {
    await a.close();
    await b.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sqlite: adds, deletes and searches while the vectors load in slices stay exact", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ds-index-load-" });
  const dims = 16;
  const rand = rng(11);
  const vec = () => Float32Array.from({ length: dims }, () => rand() - 0.5);
  const rec = (doc: string, ord: number, vector: Float32Array) => ({
    ...chunk(doc, ord, `${doc} part ${ord}`, dims, 0),
    vector,
  });
  try {
    let index = await openSqliteIndex(dir);
    const stored = Array.from(
      { length: 500 },
      (_, i) => rec(`d${Math.floor(i / 10)}`, i % 10, vec()),
    );
    await (await index.space("s1", dims)).add(stored);
    await index.close();
    index = await openSqliteIndex(dir, { loadSlice: 50 });
    const space = (await index.existing("s1"))!;
    const warming = space.warm(); // first slice read; the rest after the event loop turns
    await space.deleteDocuments(["d0", "d1"]); // rows of the slice already read
    const fresh = rec("d99", 0, vec());
    await space.add([fresh]);
    const during = space.search({ vector: stored[5].vector, k: 3 });
    await warming;
    assert(!(await during).some((h) => ["d0", "d1"].includes(h.chunk.documentId)));
    assertEquals((await space.search({ vector: fresh.vector, k: 1 }))[0].chunk.id, "d99:0");
    for (const probe of [stored[300], stored[499]]) {
      assertEquals((await space.search({ vector: probe.vector, k: 1 }))[0].chunk.id, probe.id);
    }
    assertEquals((await space.search({ vector: stored[15].vector, k: 600 })).length, 481);
    await index.close();

    // The memory copy itself (the exact re-rank above would hide rows it kept by mistake).
    const db = new DatabaseSync(`${dir}/${INDEX_FILE}`);
    const vectors = new SpaceVectors(db, "s1", dims, 50);
    const loading = vectors.ready();
    db.prepare(`DELETE FROM chunks WHERE space = 's1' AND document_id IN ('d2', 'd3')`).run();
    vectors.deleted(["d2", "d3"]);
    assertEquals((await loading).size, 461);
    db.close();

    // A document re-indexed during a load (deleted, then added again): its new rows stay.
    index = await openSqliteIndex(dir, { loadSlice: 50 });
    const again = (await index.existing("s1"))!;
    const reloading = again.warm();
    await again.deleteDocuments(["d4"]);
    const redone = rec("d4", 0, vec());
    await again.add([redone]);
    await reloading;
    assertEquals((await again.search({ vector: redone.vector, k: 1 }))[0].chunk.id, "d4:0");
    assertEquals((await again.search({ vector: stored[15].vector, k: 600 })).length, 452);
    await index.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
