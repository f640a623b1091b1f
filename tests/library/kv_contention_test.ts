/**
 * Two connections on one KV file (two deepstudio processes on one `--kv`): SQLite refuses a
 * write when the other connection holds the write lock (Deno KV throws "database is locked").
 * Through the app's KV (`retryLockedWrites`, lib/kv/locked_retry.ts) the Library's store rides
 * that out: a two-process indexing test once failed a document on it before.
 */
import { assertEquals } from "../assert.ts";
import { LibraryStore } from "../../lib/library/store.ts";
import { retryLockedWrites } from "../../lib/kv/locked_retry.ts";
import { libraryDoc } from "./records.ts";

Deno.test("library store: updates from two KV connections on one file all land", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ds-kv-locked-" });
  const a = retryLockedWrites(await Deno.openKv(`${dir}/kv.sqlite`));
  const b = retryLockedWrites(await Deno.openKv(`${dir}/kv.sqlite`));
  try {
    const docs = Array.from(
      { length: 3 },
      (_, i) => libraryDoc("c1", i, { id: `doc${i}`, format: "txt", addedAt: 0 }),
    );
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
