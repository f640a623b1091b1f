/**
 * Which Library collections a run searches: the request's, else the `search.library.collections`
 * setting's (names or ids, as people type them), else all; a name that matches no collection is
 * a typed "not configured" error, never a silently empty search.
 */
import { assertEquals, assertRejects } from "../assert.ts";
import { collectionIds, pickCollections } from "../../lib/search/engines.ts";
import { SearchError } from "../../lib/search/errors.ts";
import { collectionKey } from "../../lib/kv/keys.ts";
import { resolveSources } from "../../lib/sources/request.ts";
import { defaultSettings } from "../../lib/settings/schema.ts";
import type { Collection } from "../../lib/library/types.ts";

const settings = (collections: string) => ({
  ...defaultSettings(),
  "search.library.collections": collections,
});

Deno.test("resolveSources: request collections, else the setting's, only for the Library", () => {
  const s = settings(" Bees, cars ,Bees");
  assertEquals(resolveSources({ engines: ["library"] }, s).collections, ["Bees", "cars"]);
  assertEquals(
    resolveSources({ engines: ["library"], collections: ["x"] }, s).collections,
    ["x"],
  );
  assertEquals(resolveSources({ engines: ["searxng"] }, s).collections, undefined);
  assertEquals(resolveSources({ engines: ["library"] }, settings("")).collections, undefined);
});

Deno.test("collectionIds: by id or name ignoring case; none matching is a typed error", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    for (const [id, name] of [["a1", "Bees"], ["b2", "Cars"]]) {
      await kv.set(collectionKey(id), { id, name } as Collection);
    }
    assertEquals(await collectionIds(kv, ["bees"]), ["a1"]);
    assertEquals(await collectionIds(kv, ["b2", "BEES", "gone"]), ["b2", "a1"]);
    const err = await assertRejects(() => collectionIds(kv, ["gone"]), SearchError);
    assertEquals((err as SearchError).failure.kind, "not_configured");
  } finally {
    kv.close();
  }
});

Deno.test("pickCollections: the form ticks the setting's collections, or all of them", () => {
  const list = [{ id: "a1", name: "Bees" }, { id: "b2", name: "Cars" }];
  assertEquals(pickCollections(list, ["cars"]), ["b2"]);
  assertEquals(pickCollections(list, ["A1", "gone"]), ["a1"]);
  assertEquals(pickCollections(list, []), ["a1", "b2"]);
  assertEquals(pickCollections(list, ["gone"]), ["a1", "b2"]);
});
