/**
 * One document is one source: the Library's several passages of a document (from one query or
 * several) group into one hit whose passages keep their pages and headings; web results group by
 * URL without fragment. The citation book then gives the document one number, and the report's
 * Sources line names the pages cited from it.
 */
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { libraryEngine, type LibraryPassage } from "../../lib/search/library.ts";
import { searchAll } from "../../lib/search/multi.ts";
import { readHit } from "../../lib/sources/read.ts";
import { CitationBook } from "../../lib/sources/citations.ts";
import { sourcesMarkdown } from "../../lib/sources/report.ts";
import type { SearchEngine } from "../../lib/search/types.ts";

const passage = (doc: string, page: number, text: string): LibraryPassage => ({
  collectionId: "c1",
  collectionName: "Manuals",
  documentId: doc,
  documentTitle: `${doc}.pdf`,
  text,
  page,
  heading: null,
  score: 1 / page,
});

const byQuery: Record<string, LibraryPassage[]> = {
  "context length": [
    passage("lmstudio", 2, "The context length is fixed when the model loads."),
    passage("lmstudio", 7, "Reload the model to change its context length."),
    passage("llamacpp", 1, "llama-server takes -c for the context size."),
  ],
  "reload a model": [
    passage("lmstudio", 7, "Reload the model to change its context length."),
    passage("lmstudio", 9, "Unloading frees the memory the context used."),
  ],
};

const fetchOpts = { allowPrivate: false, timeoutMs: 1000, maxBytes: 1024 };

Deno.test("Library passages of one document become one source with located passages", async () => {
  const engine = libraryEngine((q) => Promise.resolve(byQuery[q] ?? []));
  const merged: number[] = [];
  const found = await searchAll(Object.keys(byQuery), [engine], {
    limit: 10,
    concurrency: 1,
    onHit: (h, again) => again && merged.push(h.parts!.length),
  });
  assertEquals(found.hits.map((h) => h.title), ["lmstudio.pdf", "llamacpp.pdf"]);
  const doc = found.hits[0];
  assertEquals(doc.parts!.map((p) => p.page), [2, 7, 9], "the repeated page 7 is kept once");
  assertEquals(merged, [2, 3], "each further passage updates the document's source");
  assertEquals(doc.location?.page, null, "several pages: the document has no single page");
  assertEquals(found.hits[1].location?.page, 1);

  const read = await readHit(doc, 0, { fetch: fetchOpts, mayFetch: false });
  assertEquals(read.source.state, "library");
  assertEquals(read.passages.map((p) => [p.id, p.page]), [["0:0", 2], ["0:1", 7], ["0:2", 9]]);

  // Citing two passages of the document gives one number; the Sources line names both pages.
  const book = new CitationBook();
  const other = await readHit(found.hits[1], 1, { fetch: fetchOpts, mayFetch: false });
  const shown = [read.passages[0], other.passages[0], read.passages[2]];
  const r = book.resolve("Fixed at load [1]. Use -c [2]. Unloading frees it [3].", shown);
  assertEquals(r.text, "Fixed at load [1]. Use -c [2]. Unloading frees it [1].");
  const cites = book.list();
  assertEquals(cites.map((c) => [c.n, c.source, c.passages]), [
    [1, 0, ["0:0", "0:2"]],
    [2, 1, ["1:0"]],
  ]);
  const md = sourcesMarkdown(cites, [read.source, other.source], [], [
    ...read.passages,
    ...other.passages,
  ]);
  assertStringIncludes(md, "[1] lmstudio.pdf — lmstudio.pdf, pp. 2, 9 (Manuals) (Library)");
  assertStringIncludes(md, "[2] llamacpp.pdf — llamacpp.pdf, p. 1 (Manuals) (Library)");
});

Deno.test("web results group by URL without fragment, across queries and engines", async () => {
  const web = (urls: string[]): SearchEngine => ({
    id: "searxng",
    label: "Web",
    search: () =>
      Promise.resolve({
        hits: urls.map((url) => ({
          title: url,
          url,
          location: null,
          snippet: "s",
          engine: "searxng" as const,
          score: 1,
        })),
        notes: [],
      }),
    status: () => Promise.resolve({ id: "searxng", label: "Web", state: "available" }),
  });
  const found = await searchAll(["a", "b"], [
    web(["https://x.test/p#intro", "https://x.test/q"]),
  ], { limit: 10, concurrency: 2 });
  assertEquals(found.hits.map((h) => h.url), ["https://x.test/p#intro", "https://x.test/q"]);
  assert(found.hits.every((h) => h.parts === undefined));
});
