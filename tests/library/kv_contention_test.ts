/**
 * Two connections on one KV file (two deepstudio processes on one `--kv`): SQLite refuses a
 * checked write's lock upgrade when the other connection writes in between (Deno KV throws
 * "database is locked"). The Library's store must ride that out, not fail a document over it.
 */
import { assertEquals } from "../assert.ts";
import { LibraryStore } from "../../lib/library/store.ts";
import type { LibraryDocument } from "../../lib/library/types.ts";

Deno.test("library store: updates from two KV connections on one file all land", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ds-kv-locked-" });
  const a = await Deno.openKv(`${dir}/kv.sqlite`);
  const b = await Deno.openKv(`${dir}/kv.sqlite`);
  try {
    const docs = Array.from({ length: 3 }, (_, i): LibraryDocument => ({
      id: `doc${i}`,
      collectionId: "c1",
      name: `doc${i}.txt`,
      source: { kind: "upload" },
      hash: `h${i}`,
      size: 1,
      state: "queued",
      error: null,
      errorKind: null,
      title: null,
      format: "txt",
      pages: null,
      chunks: 0,
      addedAt: 0,
      indexedHash: null,
      indexedAt: null,
    } as LibraryDocument));
    const [sa, sb] = [new LibraryStore(a), new LibraryStore(b)];
    await sa.insertDocuments(docs);
    const bump = (store: LibraryStore) => async () => {
      for (let i = 0; i < 60; i++) {
        await store.updateDocument("c1", `doc${i % 3}`, (d) => ({ ...d, chunks: d.chunks + 1 }));
      }
    };
    await Promise.all([bump(sa)(), bump(sb)()]);
    const total = (await sa.documents("c1")).reduce((n, d) => n + d.chunks, 0);
    assertEquals(total, 120);
  } finally {
    a.close();
    b.close();
    await Deno.remove(dir, { recursive: true });
  }
});
