/** The SQLite index passes the index conformance suite, and follows other processes' writes. */
import { assertEquals } from "../assert.ts";
import { openSqliteIndex } from "../../lib/library/index/sqlite.ts";
import { axisVector, chunk, indexConformance } from "./index_conformance.ts";
import { indexScaleConformance } from "./index_conformance_scale.ts";

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
