/**
 * The indexing job's grouped document commits on a real Deno KV: changes asked for together land
 * in a few atomic commits, each document's changes in the order asked (an `indexed` never
 * overwritten by its earlier `indexing`), a document deleted meanwhile resolves to null without
 * holding the others back, and `committed` sees every stored document once per change.
 */
import { assertEquals } from "../assert.ts";
import { DocumentCommits } from "../../lib/library/doc_commits.ts";
import { LibraryStore } from "../../lib/library/store.ts";
import type { LibraryDocument } from "../../lib/library/types.ts";
import { libraryDoc } from "./records.ts";

const doc = (i: number) => libraryDoc("c1", i, { size: 10 });

Deno.test("document commits: grouped, in order per document, deleted documents left out", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const store = new LibraryStore(kv);
    for (let i = 0; i < 25; i++) await store.insertDocument(doc(i));
    await store.deleteDocument(doc(7));
    const seen: LibraryDocument[] = [];
    const commits = new DocumentCommits(store, "c1", (d) => seen.push(d));
    let batches = 0;
    const updateDocuments = store.updateDocuments.bind(store);
    store.updateDocuments = (id, changes) => {
      batches++;
      return updateDocuments(id, changes);
    };
    const marks = Array.from(
      { length: 25 },
      (_, i) => commits.update(`d${i}`, (d) => ({ ...d, state: "indexing", indexedHash: d.hash })),
    );
    const dones = Array.from(
      { length: 25 },
      (_, i) => commits.update(`d${i}`, (d) => ({ ...d, state: "indexed", chunks: i + 1 })),
    );
    const marked = await Promise.all(marks);
    const done = await Promise.all(dones);
    await commits.settle();
    assertEquals(marked[7], null);
    assertEquals(done[7], null);
    // 50 changes asked for in one turn: ten a commit (never one document twice in a commit).
    assertEquals(batches, 5);
    assertEquals(seen.length, 48);
    for (let i = 0; i < 25; i++) {
      const stored = await store.document("c1", `d${i}`);
      if (i === 7) {
        assertEquals(stored, null);
        continue;
      }
      assertEquals(stored?.state, "indexed");
      assertEquals(stored?.indexedHash, `h${i}`);
      assertEquals(stored?.chunks, i + 1);
    }
  } finally {
    kv.close();
  }
});
