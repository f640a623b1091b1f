/**
 * The Library end to end through its API: a folder of mixed documents indexes with live
 * progress, bad files fail one by one with a reason, a phrase from any page finds that page
 * first, re-scans pick up edits and deletions by hash, uploads dedupe, roots and private URLs
 * are enforced, and an embedding server that goes away pauses the collection until resumed.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "../assert.ts";
import { PDF_PHRASES, startLibrary, writeMixedFolder } from "./library_fixture.ts";

Deno.test("a mixed folder indexes with progress; every page is found first by its phrase", async () => {
  const lib = await startLibrary();
  try {
    await writeMixedFolder(lib.root);
    const created = await lib.api("POST", "/api/collections", { name: "Field notes" });
    assertEquals(created.status, 201);
    const id = created.body.id;
    assertEquals(created.body.index.model, "text-embedding-nomic-embed-text-v1.5");
    const following = await lib.watch(id);
    const added = await lib.api("POST", `/api/collections/${id}/documents`, { path: lib.root });
    assertEquals(added.status, 201);
    assertEquals(added.body.added, 8); // ignored.bin is not a document type
    const events = await following.settled();
    const progress = events.filter((e) => e.type === "progress").map((e) => e.data);
    assert(
      progress.some((p) => p.chunksEmbedded > 0 && p.currentFile),
      "live progress with the current file",
    );
    assertEquals(progress.at(-1).docsDone, 8);

    const docs = (await lib.api("GET", `/api/collections/${id}/documents`)).body.documents;
    const byName = Object.fromEntries(docs.map((d: { name: string }) => [d.name, d]));
    for (const good of ["report.pdf", "notes.md", "plain.txt", "manual.docx", "page.html"]) {
      assertEquals(byName[good].state, "indexed", `${good}: ${byName[good].error}`);
      assert(byName[good].chunks > 0);
    }
    assertEquals(byName["report.pdf"].pages, 5);
    assertEquals(byName["scan.pdf"].errorKind, "no_text_layer");
    assertEquals(byName["empty.txt"].errorKind, "empty");
    assertEquals(byName["photo.txt"].errorKind, "binary");
    assertMatch(byName["photo.txt"].error, /^[^\n]+$/);

    const view = (await lib.api("GET", `/api/collections/${id}`)).body;
    assertEquals(view.state, "idle");
    assertEquals(view.documents, 8);
    assertEquals(view.failed, 3);
    assertEquals(view.index.dimensions, 64);

    for (const [i, phrase] of PDF_PHRASES.entries()) {
      const res = await lib.api("GET", `/api/search?q=${encodeURIComponent(phrase)}&k=5`);
      assertEquals(res.status, 200);
      const top = res.body.results[0];
      assertEquals(top.documentId, byName["report.pdf"].id);
      assertEquals(top.location.page, i + 1, `phrase of page ${i + 1}`);
      assertEquals(top.title, "Field report");
      assert(top.scores.vector !== undefined && top.scores.keyword !== undefined);
      assertStringIncludes(top.text, phrase);
    }
    const docx =
      (await lib.api("GET", `/api/search?q=centrifugal%20pump&collections=${id}`)).body.results[0];
    assertEquals([docx.name, docx.location.heading], ["manual.docx", "Pump manual"]);
    const md = (await lib.api("GET", `/api/search?q=smoker%20calms`)).body.results[0];
    assertEquals(md.location.heading, "Notes > Tools");
    // Queries carry nomic's query prefix, documents the document prefix.
    assert(lib.fake.requests.some((r) => r.input[0].startsWith("search_query: ")));
    assert(lib.fake.requests.filter((r) => r.input[0].startsWith("search_document: ")).length > 0);

    // The research pipeline's `library` engine now has something to search.
    const engines = (await lib.api("GET", "/api/search/status")).body.engines;
    assertEquals(engines.find((e: { id: string }) => e.id === "library").state, "available");

    // Re-scan: one edit, one deletion, one new file; the rest is not embedded again.
    await Deno.writeTextFile(
      `${lib.root}/sub/plain.txt`,
      "The bakery now sells pretzels on Fridays.",
    );
    await Deno.remove(`${lib.root}/notes.md`);
    await Deno.writeTextFile(`${lib.root}/new.md`, "Kite surfing needs steady onshore wind.");
    const before = lib.fake.requests.length;
    const again = await lib.watch(id);
    const rescan = await lib.api("POST", `/api/collections/${id}/documents`, { path: lib.root });
    assertEquals([rescan.body.added, rescan.body.changed, rescan.body.removed], [1, 1, 1]);
    assertEquals(rescan.body.unchanged, 6);
    await again.settled();
    const embedded = lib.fake.requests.slice(before).flatMap((r) => r.input).join("\n");
    assertStringIncludes(embedded, "pretzels");
    assertStringIncludes(embedded, "Kite surfing");
    assert(!embedded.includes("saffron"), "unchanged documents are never re-embedded");
    assertEquals(
      (await lib.api("GET", `/api/search?q=varroa%20mites`)).body.results.filter((
        r: { name: string },
      ) => r.name === "notes.md"),
      [],
    );
    assertEquals(
      (await lib.api("GET", `/api/search?q=pretzels`)).body.results[0].name,
      "plain.txt",
    );
  } finally {
    await lib.close();
  }
});

Deno.test("paths outside the roots, folder import without roots, private URLs: refused", async () => {
  const lib = await startLibrary();
  const off = await startLibrary({ roots: false });
  try {
    const id = (await lib.api("POST", "/api/collections", { name: "c" })).body.id;
    const outside = await lib.api("POST", `/api/collections/${id}/documents`, { path: "/etc" });
    assertEquals([outside.status, outside.body.error.kind], [403, "forbidden"]);
    const escape = await lib.api("POST", `/api/collections/${id}/documents`, {
      path: `${lib.root}/../`,
    });
    assertEquals(escape.status, 403);
    await Deno.symlink("/etc", `${lib.root}/link`);
    assertEquals(
      (await lib.api("POST", `/api/collections/${id}/documents`, { path: `${lib.root}/link` }))
        .status,
      403,
    );
    const offId = (await off.api("POST", "/api/collections", { name: "c" })).body.id;
    const disabled = await off.api("POST", `/api/collections/${offId}/documents`, {
      path: off.root,
    });
    assertEquals(disabled.status, 403);
    assertStringIncludes(disabled.body.error.message, "--library-roots");
    assertEquals((await off.api("GET", "/api/collections")).body.folderImport, false);
    const url = await lib.api("POST", `/api/collections/${id}/documents`, {
      url: `${lib.fake.url}/doc.txt`,
    });
    assertEquals([url.status, url.body.error.kind, url.body.error.reason], [
      403,
      "forbidden",
      "blocked",
    ]);
    const bad = await lib.api("POST", "/api/collections", { name: "" });
    assertEquals([bad.status, bad.body.error.kind], [400, "validation"]);
    assertEquals((await lib.api("GET", "/api/collections/nope")).status, 404);
    // An id far longer than a KV key may be: 404, not 500.
    assertEquals((await lib.api("GET", `/api/collections/${"y".repeat(3000)}`)).status, 404);
    assertEquals(
      (await lib.api("DELETE", `/api/collections/${id}/documents/${"z".repeat(3000)}`)).status,
      404,
    );
    assertEquals((await lib.api("GET", "/api/search?q=")).status, 400);
  } finally {
    await lib.close();
    await off.close();
  }
});

Deno.test("two concurrent uploads of the same file make one document", async () => {
  const lib = await startLibrary();
  try {
    const id = (await lib.api("POST", "/api/collections", { name: "up" })).body.id;
    const upload = () => {
      const form = new FormData();
      form.append("files", new File(["Otters hold hands while they sleep."], "otters.txt"));
      form.append("files", new File([new Uint8Array([0, 1, 2, 3])], "blob.txt"));
      return fetch(`${lib.url}/api/collections/${id}/documents`, { method: "POST", body: form })
        .then((r) => r.json());
    };
    const [a, b] = await Promise.all([upload(), upload()]);
    const dupes = [a.uploads[0].duplicate, b.uploads[0].duplicate].sort();
    assertEquals(dupes, [false, true]);
    assertEquals(a.uploads[0].doc.id, b.uploads[0].doc.id);
    // Both uploads are in: wait (on events) until no document is queued or indexing.
    for (;;) {
      const watching = await lib.watch(id);
      const pending = watching.snapshot.data.documents.some((d: { state: string }) =>
        d.state === "queued" || d.state === "indexing"
      );
      if (!pending) break;
      await watching.settled();
    }
    const docs = (await lib.api("GET", `/api/collections/${id}/documents`)).body.documents;
    assertEquals(docs.length, 2);
    assertEquals(docs.find((d: { name: string }) => d.name === "otters.txt").state, "indexed");
    assertEquals(docs.find((d: { name: string }) => d.name === "blob.txt").errorKind, "binary");
    assertEquals((await lib.api("GET", "/api/search?q=otters")).body.results.length, 1);
  } finally {
    await lib.close();
  }
});

Deno.test("the embedding server going away pauses the collection with the typed error; resume finishes", async () => {
  const lib = await startLibrary({ fake: { delayMs: 5 } });
  try {
    for (let i = 0; i < 6; i++) {
      await Deno.writeTextFile(
        `${lib.root}/doc${i}.txt`,
        `Document ${i} talks about walrus number ${i}.`,
      );
    }
    const id = (await lib.api("POST", "/api/collections", { name: "p" })).body.id;
    await lib.fake.down();
    const paused = await lib.watch(id);
    await lib.api("POST", `/api/collections/${id}/documents`, { path: lib.root });
    const last = (await paused.settled()).at(-1)!;
    assertEquals(last.data.state, "paused");
    assertEquals(last.data.error.kind, "connection");
    assert(last.data.error.hint.length > 0);
    lib.fake.up();
    const done = await lib.watch(id);
    const resumed = await lib.api("PATCH", `/api/collections/${id}`, { state: "indexing" });
    assertEquals(resumed.status, 200);
    assertEquals((await done.settled()).at(-1)!.data.state, "idle");
    const docs = (await lib.api("GET", `/api/collections/${id}/documents`)).body.documents;
    assertEquals(docs.map((d: { state: string }) => d.state), Array(6).fill("indexed"));
    // Keyword search still answers while the server is down, and says so.
    await lib.fake.down();
    const degraded = (await lib.api("GET", "/api/search?q=walrus%20number%203")).body;
    assertEquals(degraded.results[0].name, "doc3.txt");
    assert(degraded.degraded.message.length > 0);
  } finally {
    await lib.close();
  }
});
