/**
 * Folder scans dedupe by content hash against what the collection already holds and what the
 * scan itself changes: the same bytes at a second path add nothing, and bytes a changed file
 * gave up are free again for a new file to bring in.
 */
import { assertEquals } from "../assert.ts";
import { startLibrary } from "./library_fixture.ts";

Deno.test("folder scans dedupe by hash against stored documents and the scan's own changes", async () => {
  const lib = await startLibrary();
  try {
    const id = (await lib.api("POST", "/api/collections", { name: "Dedupe" })).body.id;
    await Deno.mkdir(`${lib.root}/a`);
    await Deno.writeTextFile(`${lib.root}/a/one.txt`, "Puffins nest in burrows on the cliffs.");
    const first = await lib.watch(id);
    const added = await lib.api("POST", `/api/collections/${id}/documents`, {
      path: `${lib.root}/a`,
    });
    assertEquals(added.body.added, 1);
    await first.settled();

    // A second folder: a copy of one.txt (already stored) and two fresh files of equal bytes.
    await Deno.mkdir(`${lib.root}/b`);
    await Deno.writeTextFile(`${lib.root}/b/copy.txt`, "Puffins nest in burrows on the cliffs.");
    await Deno.writeTextFile(`${lib.root}/b/x.txt`, "Gannets dive at sixty miles an hour.");
    await Deno.writeTextFile(`${lib.root}/b/y.txt`, "Gannets dive at sixty miles an hour.");
    const second = await lib.watch(id);
    const b = await lib.api("POST", `/api/collections/${id}/documents`, { path: `${lib.root}/b` });
    assertEquals([b.body.added, b.body.unchanged], [1, 2]);
    await second.settled();

    // one.txt changes; a new file with one.txt's old bytes is new again (no document holds them
    // once copy.txt, which never became a document, is gone too).
    await Deno.remove(`${lib.root}/b/copy.txt`);
    await Deno.writeTextFile(
      `${lib.root}/a/one.txt`,
      "Puffins fly with fish stacked in their bills.",
    );
    await Deno.writeTextFile(`${lib.root}/a/zz_old.txt`, "Puffins nest in burrows on the cliffs.");
    const third = await lib.watch(id);
    const a = await lib.api("POST", `/api/collections/${id}/documents`, { path: `${lib.root}/a` });
    assertEquals([a.body.added, a.body.changed, a.body.unchanged], [1, 1, 0]);
    await third.settled();
    const names = (await lib.api("GET", `/api/collections/${id}/documents`)).body.documents
      .map((d: { name: string }) => d.name).sort();
    assertEquals(names, ["one.txt", "x.txt", "zz_old.txt"]);
  } finally {
    await lib.close();
  }
});
