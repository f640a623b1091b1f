import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { readHit } from "../../lib/sources/read.ts";
import type { FoundHit } from "../../lib/search/multi.ts";
import { startPageServer } from "../net/page_server.ts";
import { makePdf } from "../library/files.ts";

const article = Deno.readTextFileSync(new URL("../extract/pages/article.html", import.meta.url));

const webHit = (url: string, snippet = "Snippet text about context windows."): FoundHit => ({
  title: url,
  url,
  location: null,
  snippet,
  engine: "searxng",
  score: 1,
  query: "context windows",
});

Deno.test("readHit: an allowed page is fetched, extracted and cut into passages", async () => {
  const srv = startPageServer({
    "/article": () => new Response(article, { headers: { "content-type": "text/html" } }),
  });
  try {
    const r = await readHit(webHit(`${srv.url}/article`), 3, {
      fetch: { allowPrivate: true },
      mayFetch: true,
    });
    assertEquals(r.source.state, "read");
    assertEquals(r.source.index, 3);
    assertStringIncludes(r.source.title, "Context windows in local LLM servers");
    assert(r.passages.length >= 1);
    assertEquals(r.passages[0].id, "3:0");
    assertStringIncludes(r.passages.map((p) => p.text).join("\n"), "loaded context");
    assert(!r.passages.some((p) => p.text.includes("FOOTER-TEXT")));
  } finally {
    await srv.close();
  }
});

Deno.test("readHit: a private page is refused by default; the snippet stays citable", async () => {
  const srv = startPageServer({
    "/article": () => new Response(article, { headers: { "content-type": "text/html" } }),
  });
  try {
    const r = await readHit(webHit(`${srv.url}/article`), 0, { fetch: {}, mayFetch: true });
    assertEquals(r.source.state, "snippet");
    assertStringIncludes(r.source.note ?? "", "loopback");
    assertEquals(r.passages.map((p) => p.text), ["Snippet text about context windows."]);
    assertEquals(srv.hits.get("/article"), undefined);
    const spent = await readHit(webHit(`${srv.url}/article`), 1, {
      fetch: { allowPrivate: true },
      mayFetch: false,
    });
    assertStringIncludes(spent.source.note ?? "", "page budget");
    const missing = await readHit(webHit(`${srv.url}/missing`, ""), 2, {
      fetch: { allowPrivate: true },
      mayFetch: true,
    });
    assertStringIncludes(missing.source.note ?? "", "HTTP 404");
    assertEquals(missing.passages, []);
  } finally {
    await srv.close();
  }
});

Deno.test("readHit: Library hits are already text", async () => {
  const r = await readHit(
    {
      title: "Handbook",
      url: null,
      location: {
        collection: "c1",
        document: "d1",
        documentTitle: "Handbook",
        page: 4,
        heading: null,
      },
      snippet: "short",
      text: "Full passage from page four of the handbook.",
      engine: "library",
      score: 0.9,
      query: "q",
    },
    5,
    { fetch: {}, mayFetch: false },
  );
  assertEquals(r.source.state, "library");
  assertEquals(r.passages.map((p) => p.text), ["Full passage from page four of the handbook."]);
});

Deno.test("readHit: a PDF result is read through the Library's PDF extractor", async () => {
  const pdf = await makePdf([["Page one says the loaded context limits prompts."]], "A PDF");
  const srv = startPageServer({
    "/doc.pdf": () =>
      new Response(pdf as Uint8Array<ArrayBuffer>, {
        headers: { "content-type": "application/pdf" },
      }),
  });
  try {
    const r = await readHit(webHit(`${srv.url}/doc.pdf`), 0, {
      fetch: { allowPrivate: true },
      mayFetch: true,
    });
    assertEquals(r.source.state, "read", r.source.note);
    assertStringIncludes(r.passages.map((p) => p.text).join(" "), "loaded context limits prompts");
  } finally {
    await srv.close();
  }
});
