/**
 * The contract every Library index backend passes (lib/library/index/types.ts). A backend's test
 * file calls `indexConformance(name, open)` with a function that opens the backend in a fresh
 * directory; reopening the same directory must see what was committed.
 */
import { assert, assertEquals, assertRejects } from "../assert.ts";
import type { ChunkRecord, LibraryIndex } from "../../lib/library/index/types.ts";
import { IndexError } from "../../lib/library/index/types.ts";

/** A deterministic unit vector pointing mostly along axis `axis`. */
export function axisVector(dims: number, axis: number, wobble = 0): Float32Array {
  const v = new Float32Array(dims);
  v[axis % dims] = 1;
  v[(axis + 1) % dims] = wobble;
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

/** A chunk of `doc` at `ord` whose vector is `axisVector(dims, axis)`. */
export function chunk(
  doc: string,
  ord: number,
  text: string,
  dims: number,
  axis: number,
  extra: Partial<ChunkRecord> = {},
): ChunkRecord {
  return {
    id: `${doc}:${ord}`,
    collectionId: "col1",
    documentId: doc,
    ord,
    text,
    page: null,
    heading: null,
    start: ord * 100,
    end: ord * 100 + text.length,
    vector: axisVector(dims, axis),
    ...extra,
  };
}

/** Registers the conformance tests for one backend. */
export function indexConformance(name: string, open: (dir: string) => Promise<LibraryIndex>) {
  const dims = 8;
  const withIndex = async (fn: (index: LibraryIndex, dir: string) => Promise<void>) => {
    const dir = await Deno.makeTempDir({ prefix: "ds-index-" });
    const index = await open(dir);
    try {
      await fn(index, dir);
    } finally {
      await index.close();
      await Deno.remove(dir, { recursive: true });
    }
  };

  Deno.test(`${name}: added chunks are counted, listed by ord and survive reopening`, async () => {
    const dir = await Deno.makeTempDir({ prefix: "ds-index-" });
    try {
      let index = await open(dir);
      const space = await index.space("s1", dims);
      await space.add([chunk("d1", 0, "alpha", dims, 0), chunk("d1", 2, "gamma", dims, 2)]);
      await space.add([chunk("d2", 0, "beta", dims, 1, { page: 3, heading: "A > B" })]);
      assertEquals(await space.count(), 3);
      assertEquals(await space.count("d1"), 2);
      assertEquals(await space.ordsOf("d1"), [0, 2]);
      await index.close();
      index = await open(dir);
      const again = await index.existing("s1");
      assert(again, "the space exists after reopening");
      assertEquals(again.dimensions, dims);
      assertEquals(await again.count(), 3);
      const hits = await again.search({ vector: axisVector(dims, 1), k: 1 });
      assertEquals(hits[0].chunk, {
        id: "d2:0",
        collectionId: "col1",
        documentId: "d2",
        ord: 0,
        text: "beta",
        page: 3,
        heading: "A > B",
        start: 0,
        end: 4,
      });
      assertEquals(await index.names(), ["s1"]);
      await index.close();
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });

  Deno.test(`${name}: vector search ranks the nearest first with a cosine score`, () =>
    withIndex(async (index) => {
      const space = await index.space("s1", dims);
      await space.add([0, 1, 2, 3].map((i) => chunk("d", i, `text ${i}`, dims, i)));
      const hits = await space.search({ vector: axisVector(dims, 2, 0.1), k: 2 });
      assertEquals(hits.map((h) => h.chunk.id), ["d:2", "d:3"]);
      assert(hits[0].scores.vector! > 0.99 && hits[0].scores.vector! <= 1.0001);
      assertEquals(hits[0].scores.keyword, undefined);
    }));

  Deno.test(`${name}: keyword search finds a rare term and scores it`, () =>
    withIndex(async (index) => {
      const space = await index.space("s1", dims);
      await space.add([
        chunk("d", 0, "the quick brown fox", dims, 0),
        chunk("d", 1, "rayleigh scattering makes the sky blue", dims, 0),
        chunk("d", 2, "the lazy dog sleeps", dims, 0),
      ]);
      // Rows added after the keyword index was first built are searchable too.
      await space.add([chunk("e", 0, "zymurgy is the chemistry of fermentation", dims, 0)]);
      const hits = await space.search({ text: "scattering", k: 3 });
      assertEquals(hits[0].chunk.id, "d:1");
      assert(hits[0].scores.keyword! > 0);
      assertEquals((await space.search({ text: "zymurgy", k: 3 }))[0]?.chunk.id, "e:0");
    }));

  Deno.test(`${name}: hybrid search fuses both signals and filters by document`, () =>
    withIndex(async (index) => {
      const space = await index.space("s1", dims);
      await space.add([
        chunk("a", 0, "solar panels convert sunlight", dims, 0),
        chunk("a", 1, "wind turbines spin", dims, 1),
        chunk("b", 0, "sunlight and solar power", dims, 5),
      ]);
      // "a:0" is first in both lists; "b:0" only matches the keywords.
      const hits = await space.search({
        vector: axisVector(dims, 0),
        text: "solar sunlight",
        k: 3,
      });
      assertEquals(hits[0].chunk.id, "a:0");
      assert(hits[0].scores.vector !== undefined && hits[0].scores.keyword !== undefined);
      assert(hits[0].score > hits[1].score);
      const onlyB = await space.search({
        vector: axisVector(dims, 0),
        text: "solar",
        documentIds: ["b"],
        k: 5,
      });
      assertEquals(onlyB.map((h) => h.chunk.id), ["b:0"]);
    }));

  Deno.test(`${name}: deleting documents and retaining known ones removes their chunks`, () =>
    withIndex(async (index) => {
      const space = await index.space("s1", dims);
      await space.add(["a", "b", "c", "d"].map((d, i) => chunk(d, 0, `doc ${d}`, dims, i)));
      await space.deleteDocuments(["a"]);
      assertEquals(await space.count(), 3);
      assertEquals(await space.retainDocuments(["b", "c"]), 1);
      assertEquals(await space.count(), 2);
      assertEquals(await space.count("d"), 0);
      assertEquals(
        (await space.search({ text: "doc", k: 10 })).map((h) => h.chunk.documentId).sort(),
        [
          "b",
          "c",
        ],
      );
      assertEquals(await space.retainDocuments([]), 2);
      assertEquals(await space.count(), 0);
    }));

  Deno.test(`${name}: a space refuses vectors of another size and names are checked`, () =>
    withIndex(async (index) => {
      const space = await index.space("s1", dims);
      await assertRejects(() => space.add([chunk("d", 0, "x", 4, 0)]), IndexError);
      await assertRejects(() => index.space("s1", 16), IndexError);
      await assertRejects(() => index.space("bad name'; drop", dims), IndexError);
      await assertRejects(() => space.deleteDocuments(["x' OR '1'='1"]), IndexError);
      assertEquals(await space.count(), 0);
    }));

  Deno.test(`${name}: adding a chunk id twice keeps one copy (a retried batch, a second process)`, () =>
    withIndex(async (index, dir) => {
      const space = await index.space("s1", dims);
      await space.add([chunk("d", 0, "first copy", dims, 0)]);
      await space.search({ vector: axisVector(dims, 0), k: 1 }); // vectors now cached in memory
      await space.add([chunk("d", 0, "second copy", dims, 0), chunk("d", 1, "new", dims, 1)]);
      assertEquals(await space.count(), 2);
      const hits = await space.search({ vector: axisVector(dims, 0), k: 5 });
      assertEquals(hits.map((h) => h.chunk.text), ["first copy", "new"]);
      // A second handle on the same directory (another process) sees the same rows.
      const other = await open(dir);
      try {
        const s2 = (await other.existing("s1"))!;
        await s2.add([chunk("d", 1, "again", dims, 1)]);
        assertEquals(await s2.count(), 2);
      } finally {
        await other.close();
      }
    }));

  Deno.test(`${name}: spaces are independent, dropping one keeps the other`, () =>
    withIndex(async (index) => {
      const s1 = await index.space("s1", dims);
      const s2 = await index.space("s2", 4);
      await s1.add([chunk("d", 0, "one", dims, 0)]);
      await s2.add([chunk("d", 0, "two", 4, 0)]);
      await index.drop("s1");
      assertEquals(await index.names(), ["s2"]);
      assertEquals(await index.existing("s1"), null);
      assertEquals(await s2.count(), 1);
    }));

  Deno.test(`${name}: optimize keeps every chunk searchable`, () =>
    withIndex(async (index) => {
      const space = await index.space("s1", dims);
      for (let b = 0; b < 5; b++) {
        await space.add([0, 1].map((i) => chunk(`d${b}`, i, `batch${b} item${i}`, dims, b + i)));
      }
      await space.optimize();
      assertEquals(await space.count(), 10);
      assertEquals((await space.search({ text: "batch3", k: 5 })).map((h) => h.chunk.documentId), [
        "d3",
        "d3",
      ]);
    }));
}
