/**
 * The index contract at a size where an engine's shortcuts show: vector search must agree with
 * an exact scan (a backend may approximate, e.g. quantised or ANN candidates, but its top 10 must
 * hold the exact top 10 and report exact cosine scores), stay exact across adds and deletes made
 * between searches, and find a rare word next to one that is in most chunks.
 */
import { assert, assertEquals } from "../assert.ts";
import type { ChunkRecord, IndexSpace, LibraryIndex } from "../../lib/library/index/types.ts";

/** mulberry32: a seeded PRNG so failures reproduce. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Vectors around a few centres (as real embeddings cluster by topic) plus uniform ones. */
function vectors(count: number, dims: number, seed: number): Float32Array[] {
  const rand = rng(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());
  const centres = Array.from({ length: 20 }, () => Float32Array.from({ length: dims }, gauss));
  return Array.from({ length: count }, (_, i) => {
    if (i % 3 === 0) return Float32Array.from({ length: dims }, () => rand() - 0.5);
    const c = centres[i % centres.length];
    return Float32Array.from({ length: dims }, (_, j) => c[j] + 0.6 * gauss());
  });
}

function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0, na = 0, nb = 0;
  for (let j = 0; j < a.length; j++) {
    dot += a[j] * b[j];
    na += a[j] * a[j];
    nb += b[j] * b[j];
  }
  return dot / Math.sqrt(na * nb);
}

function record(i: number, vector: Float32Array, text = `chunk number ${i}`): ChunkRecord {
  const doc = `d${Math.floor(i / 10)}`;
  return {
    id: `${doc}:${i % 10}`,
    collectionId: "col1",
    documentId: doc,
    ord: i % 10,
    text,
    page: null,
    heading: null,
    start: 0,
    end: text.length,
    vector,
  };
}

/** Checks a space's vector-only top `k` against an exact scan of `live`; returns the recall. */
async function compare(
  space: IndexSpace,
  live: ChunkRecord[],
  queries: Float32Array[],
  k: number,
  documentIds?: string[],
): Promise<number> {
  let found = 0, wanted = 0;
  for (const q of queries) {
    const pool = documentIds ? live.filter((c) => documentIds.includes(c.documentId)) : live;
    const exact = pool.map((c) => ({ id: c.id, score: cosine(q, c.vector) }))
      .sort((a, b) => b.score - a.score).slice(0, k);
    const hits = await space.search({ vector: q, k, documentIds });
    const byId = new Map(live.map((c) => [c.id, c]));
    for (const h of hits) {
      const c = byId.get(h.chunk.id);
      assert(c, `hit ${h.chunk.id} is not a live chunk`);
      const want = cosine(q, c.vector);
      assert(Math.abs(h.scores.vector! - want) < 1e-5, `score ${h.scores.vector} ≠ ${want}`);
      if (documentIds) assert(documentIds.includes(h.chunk.documentId));
    }
    const got = new Set(hits.map((h) => h.chunk.id));
    wanted += exact.length;
    found += exact.filter((e) => got.has(e.id)).length;
  }
  return found / wanted;
}

/** Registers the scale tests for one backend. */
export function indexScaleConformance(name: string, open: (dir: string) => Promise<LibraryIndex>) {
  const dims = 100; // not a multiple of any SIMD width
  const withSpace = async (fn: (space: IndexSpace) => Promise<void>) => {
    const dir = await Deno.makeTempDir({ prefix: "ds-index-scale-" });
    const index = await open(dir);
    try {
      await fn(await index.space("s1", dims));
    } finally {
      await index.close();
      await Deno.remove(dir, { recursive: true });
    }
  };

  Deno.test(`${name}: vector search agrees with an exact scan (recall@10, exact scores)`, () =>
    withSpace(async (space) => {
      const vs = vectors(4000, dims, 1);
      const live = vs.map((v, i) => record(i, v));
      for (let at = 0; at < live.length; at += 1000) await space.add(live.slice(at, at + 1000));
      const rand = rng(2);
      const queries = [
        ...vectors(15, dims, 3),
        ...Array.from({ length: 15 }, (_, i) => vs[i * 97].map((x) => x + 0.3 * (rand() - 0.5))),
      ];
      const recall = await compare(space, live, queries, 10);
      assert(recall >= 0.99, `recall@10 ${recall}`);
      const filtered = await compare(space, live, queries.slice(0, 5), 10, ["d3", "d250"]);
      assertEquals(filtered, 1);
    }));

  Deno.test(`${name}: vector search stays exact across adds and deletes between searches`, () =>
    withSpace(async (space) => {
      const vs = vectors(1500, dims, 4);
      let live = vs.slice(0, 1000).map((v, i) => record(i, v));
      await space.add(live);
      const queries = vectors(8, dims, 5);
      assert(await compare(space, live, queries, 10) >= 0.99);
      const more = vs.slice(1000).map((v, i) => record(1000 + i, v));
      await space.add(more);
      live = [...live, ...more];
      await space.deleteDocuments(["d0", "d57", "d120"]);
      live = live.filter((c) => !["d0", "d57", "d120"].includes(c.documentId));
      assertEquals(await space.count(), live.length);
      assert(await compare(space, live, queries, 10) >= 0.99);
      const keep = [...new Set(live.map((c) => c.documentId))].filter((_, i) => i % 2 === 0);
      await space.retainDocuments(keep);
      live = live.filter((c) => keep.includes(c.documentId));
      assert(await compare(space, live, queries, 10) >= 0.99);
    }));

  Deno.test(`${name}: a rare word is found next to a word that is in most chunks`, () =>
    withSpace(async (space) => {
      const vs = vectors(1600, dims, 6);
      const live = vs.map((v, i) =>
        record(i, v, i === 1234 ? "common words and one needle" : `common words ${i % 7}`)
      );
      for (let at = 0; at < live.length; at += 800) await space.add(live.slice(at, at + 800));
      const hybrid = await space.search({ vector: vs[5], text: "common needle", k: 5 });
      const keyword = hybrid.filter((h) => h.scores.keyword !== undefined);
      assertEquals(keyword[0]?.chunk.id, live[1234].id);
      assert(hybrid.some((h) => h.chunk.id === live[5].id)); // the vector's own chunk
      // Keyword-only (no vector to fall back on): a common word still ranks chunks.
      assertEquals((await space.search({ text: "common", k: 5 })).length, 5);
    }));
}
