/**
 * The indexing job keeps the embedder busy while the index writes: with every chunk write held
 * back, all the documents still get embedded, and none is marked `indexed` before its chunks are
 * written (tests/library/kill_test.ts proves what a kill -9 then leaves). Real KV, real files,
 * the real SQLite index behind a gate on `add`.
 */
import { assert, assertEquals } from "../assert.ts";
import { DEFAULT_CHUNKING } from "../../lib/library/chunk.ts";
import { Embedder } from "../../lib/library/embedder.ts";
import { LibraryEvents } from "../../lib/library/events.ts";
import { FileStore } from "../../lib/library/files.ts";
import { openSqliteIndex } from "../../lib/library/index/sqlite.ts";
import type { IndexSpace, LibraryIndex } from "../../lib/library/index/types.ts";
import { runJob, spaceName } from "../../lib/library/job.ts";
import { LibraryStore } from "../../lib/library/store.ts";
import { libraryCollection, libraryDoc } from "./records.ts";

const DOCUMENTS = 12;

/** `index` with every space's `add` waiting for `gate`. */
function gated(index: LibraryIndex, gate: Promise<void>, adds: { n: number }): LibraryIndex {
  const wrap = (s: IndexSpace): IndexSpace => ({
    name: s.name,
    dimensions: s.dimensions,
    add: async (chunks) => {
      adds.n++;
      await gate;
      return await s.add(chunks);
    },
    deleteDocuments: (ids) => s.deleteDocuments(ids),
    retainDocuments: (keep) => s.retainDocuments(keep),
    ordsOf: (id) => s.ordsOf(id),
    count: (id) => s.count(id),
    search: (q) => s.search(q),
    optimize: () => s.optimize(),
    warm: () => s.warm(),
  });
  return {
    space: async (name, dims) => wrap(await index.space(name, dims)),
    existing: async (name) => {
      const s = await index.existing(name);
      return s && wrap(s);
    },
    drop: (name) => index.drop(name),
    names: () => index.names(),
    close: () => index.close(),
  };
}

Deno.test("indexing job: documents go on being embedded while their chunk writes wait", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ds-job-pipeline-" });
  const kv = await Deno.openKv(":memory:");
  const real = await openSqliteIndex(`${dir}/index`);
  /** Ends the job if an assertion failed before it did, so nothing outlives the test. */
  let stopJob = () => Promise.resolve();
  try {
    const store = new LibraryStore(kv);
    await store.putCollection(
      libraryCollection("c1", { name: "pipeline", createdAt: 0, updatedAt: 0 }),
    );
    for (let i = 0; i < DOCUMENTS; i++) {
      const path = `${dir}/doc${i}.txt`;
      await Deno.writeTextFile(path, `Document ${i} is about topic${i}. It has one short chunk.`);
      await store.insertDocument(
        libraryDoc("c1", i, { source: { kind: "path", path }, size: 60 }),
      );
    }
    const abort = new AbortController();
    let open!: () => void;
    const gate = new Promise<void>((r) => open = r);
    const adds = { n: 0 };
    let calls = 0;
    const events = new LibraryEvents();
    const done = runJob(
      {
        store,
        files: new FileStore(`${dir}/files`),
        events,
        index: () => Promise.resolve(gated(real, gate, adds)),
        embedder: (t) =>
          new Embedder({
            call: (req) => {
              calls++;
              return Promise.resolve({
                model: t.model,
                vectors: req.input.map((_, k) => [1, k, calls]),
              });
            },
            model: t.model,
            prefix: t.prefix,
            dimensions: t.dimensions,
          }),
        chunking: DEFAULT_CHUNKING,
        maxDocumentBytes: 1 << 20,
        now: Date.now,
        log: () => {},
      },
      "c1",
      abort.signal,
    );
    stopJob = async () => {
      abort.abort();
      open();
      await done;
    };
    const until = Date.now() + 10_000;
    while ((calls < DOCUMENTS || adds.n < DOCUMENTS) && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 5));
    }
    // Every document embedded, and its write asked for, while not one write has gone through.
    assertEquals(calls, DOCUMENTS);
    assertEquals(adds.n, DOCUMENTS);
    assert((await store.documents("c1")).every((d) => d.state !== "indexed"));
    open();
    await done;
    const docs = await store.documents("c1");
    assertEquals(docs.map((d) => d.state), Array(DOCUMENTS).fill("indexed"));
    assertEquals(await (await real.existing(spaceName("c1", 1)))!.count(), DOCUMENTS);
    assertEquals((await store.collection("c1"))!.state, "idle");
  } finally {
    await stopJob();
    await real.close();
    kv.close();
    await Deno.remove(dir, { recursive: true });
  }
});
