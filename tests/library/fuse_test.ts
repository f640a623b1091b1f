import { fuse, RRF_K } from "../../lib/library/index/fuse.ts";
import type { StoredChunk } from "../../lib/library/index/types.ts";
import { assertEquals } from "../assert.ts";

function chunk(id: string): StoredChunk {
  return {
    id,
    collectionId: "c",
    documentId: id,
    ord: 0,
    text: id,
    page: null,
    heading: null,
    start: 0,
    end: id.length,
  };
}

Deno.test("fuse: chunks a list scores alike share its rank, so the other list decides", () => {
  // doc5 and doc4 have the same cosine; doc4 alone matches the words. Whatever order the vector
  // list holds the tie in, doc4 ranks first.
  for (const vectorOrder of [["doc5", "doc4"], ["doc4", "doc5"]]) {
    const hits = fuse([
      {
        signal: "vector",
        items: [
          ...vectorOrder.map((id) => ({ chunk: chunk(id), score: 0.527 })),
          { chunk: chunk("doc1"), score: 0.3 },
        ],
      },
      {
        signal: "keyword",
        items: [
          { chunk: chunk("doc4"), score: 1.78 },
          { chunk: chunk("doc5"), score: 0.000002 },
          { chunk: chunk("doc1"), score: 0.000002 },
        ],
      },
    ], 3);
    assertEquals(hits.map((h) => h.chunk.id), ["doc4", "doc5", "doc1"]);
    assertEquals(hits[0].score, 2 / (RRF_K + 1));
    // doc5 and doc1 tie in the keyword list (rank 2 both); the vector list separates them.
    assertEquals(hits[2].score, 1 / (RRF_K + 3) + 1 / (RRF_K + 2));
  }
});

Deno.test("fuse: distinct scores rank 1, 2, 3 as before", () => {
  const hits = fuse([{
    signal: "vector",
    items: [0.9, 0.8, 0.7].map((score, i) => ({ chunk: chunk(`d${i}`), score })),
  }], 3);
  assertEquals(hits.map((h) => h.score), [1, 2, 3].map((r) => 1 / (RRF_K + r)));
});
