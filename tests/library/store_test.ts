/**
 * The Library's KV store on a real Deno KV file: deleting a collection leaves none of its
 * document or hash records (more of them than one delete commit holds), and a search's hits
 * resolve to their documents with ids that are gone left out. The job's check before each
 * document (`superseded`, one read of the collection and its claim) stops on a lost claim.
 */
import { assertEquals } from "../assert.ts";
import { LibraryStore } from "../../lib/library/store.ts";
import { libraryCollection, libraryDoc } from "./records.ts";
import {
  collectionKey,
  libraryDocsPrefix,
  libraryHashPrefix,
  libraryJobKey,
} from "../../lib/kv/keys.ts";
import { createJobClaims } from "../../lib/library/lease.ts";
import { type JobDeps, superseded } from "../../lib/library/job_steps.ts";

const doc = (collectionId: string, i: number) => libraryDoc(collectionId, i);

async function withStore(fn: (kv: Deno.Kv, store: LibraryStore) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "deepstudio-store-" });
  const kv = await Deno.openKv(`${dir}/kv.sqlite`);
  try {
    await fn(kv, new LibraryStore(kv));
  } finally {
    kv.close();
    await Deno.remove(dir, { recursive: true });
  }
}

async function count(kv: Deno.Kv, prefix: Deno.KvKey): Promise<number> {
  let n = 0;
  for await (const _ of kv.list({ prefix })) n++;
  return n;
}

Deno.test("deleting a collection removes every document and hash record, and only its own", async () => {
  await withStore(async (kv, store) => {
    for (const id of ["gone", "kept"]) await store.putCollection(libraryCollection(id));
    await store.insertDocuments(Array.from({ length: 250 }, (_, i) => doc("gone", i)));
    await store.insertDocuments([doc("kept", 1)]);
    assertEquals(await count(kv, libraryDocsPrefix("gone")), 250);
    await store.deleteCollection("gone");
    assertEquals(await count(kv, libraryDocsPrefix("gone")), 0);
    assertEquals(await count(kv, libraryHashPrefix("gone")), 0);
    assertEquals((await kv.get(collectionKey("gone"))).value, null);
    assertEquals(await count(kv, libraryDocsPrefix("kept")), 1);
    assertEquals(await count(kv, libraryHashPrefix("kept")), 1);
  });
});

Deno.test("documentsById reads the hits' documents across getMany groups, skipping gone ids", async () => {
  await withStore(async (_kv, store) => {
    await store.putCollection(libraryCollection("c"));
    await store.insertDocuments(Array.from({ length: 25 }, (_, i) => doc("c", i)));
    const ids = [...Array.from({ length: 25 }, (_, i) => `d${i}`), "d3", "missing"];
    const found = await store.documentsById("c", ids);
    assertEquals(found.size, 25);
    assertEquals(found.get("d24")?.name, "doc24.txt");
    assertEquals(found.has("missing"), false);
  });
});

Deno.test("superseded (one read before each document): a lost claim, a deleted collection or a new generation stop the job", async () => {
  await withStore(async (kv, store) => {
    await store.putCollection(libraryCollection("c"));
    const claims = createJobClaims(kv, { leaseMs: 60_000, now: Date.now, log: () => {} });
    const deps = { store, owner: claims.owner } as unknown as JobDeps;
    try {
      // No claim yet: another process may own it, so the job must not go on.
      assertEquals(await superseded(deps, "c", 1), true);
      assertEquals(await claims.claim("c"), true);
      assertEquals(await superseded(deps, "c", 1), false);
      assertEquals(await superseded(deps, "c", 2), true);
      // Without an owner (a single-process caller) only the collection counts.
      assertEquals(await superseded({ store } as unknown as JobDeps, "c", 1), false);
      // Another process took the job over.
      await kv.set(libraryJobKey("c"), { owner: "someone-else", at: Date.now() });
      assertEquals(await superseded(deps, "c", 1), true);
      await kv.set(libraryJobKey("c"), { owner: claims.owner, at: Date.now() });
      assertEquals(await superseded(deps, "c", 1), false);
      await store.deleteCollection("c");
      assertEquals(await superseded(deps, "c", 1), true);
    } finally {
      await claims.close();
    }
  });
});
