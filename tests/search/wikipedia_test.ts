/**
 * The Wikipedia engine against a fake MediaWiki API speaking the documented answer
 * (tests/fakes/wikipedia.ts, docs/wikipedia.md): hits as article URLs with plain-text snippets,
 * the API's HTTP 200 error object, 429 and an unreachable wiki as typed failures with hints, and a
 * sourced run that reads the articles and cites them.
 */
import { assert, assertEquals, assertRejects, assertStringIncludes } from "../assert.ts";
import { SearchError } from "../../lib/search/errors.ts";
import { articleUrl, snippetText, wikipediaEngine } from "../../lib/search/wikipedia.ts";
import { startFakeWikipedia } from "../fakes/wikipedia.ts";
import { deadPort } from "../e2e/stack.ts";
import { harness } from "../research/support.ts";
import { sourcedRun } from "./support.ts";

const ARTICLES = [
  {
    title: "Bee smoker",
    snippet: 'A <span class="searchmatch">bee</span> smoker &quot;calms&quot; the bees',
    body: "A bee smoker is a device used in beekeeping to calm honey bees with cool smoke.",
  },
  {
    title: "Varroa destructor",
    snippet: "An external parasitic mite",
    body: "Varroa destructor is an external parasitic mite that attacks honey bees.",
  },
];

Deno.test("wikipedia engine: documented answer → article URLs and plain snippets", async () => {
  const wiki = startFakeWikipedia(ARTICLES);
  try {
    const e = wikipediaEngine({ url: wiki.url, timeoutMs: 5000 });
    const r = await e.search("bee smoker", { limit: 1 });
    assertEquals(r.hits.length, 1);
    assertEquals(r.hits[0].url, `${wiki.url}/wiki/Bee_smoker`);
    assertEquals(r.hits[0].snippet, 'A bee smoker "calms" the bees');
    assertEquals(r.hits[0].engine, "wikipedia");
    const asked = wiki.requests[0];
    assertEquals(asked.searchParams.get("srsearch"), "bee smoker");
    assertEquals(asked.searchParams.get("srlimit"), "1");
    assertEquals(asked.searchParams.get("formatversion"), "2");
    assertEquals(
      articleUrl("https://en.wikipedia.org", "AC/DC & co"),
      "https://en.wikipedia.org/wiki/AC/DC_%26_co",
    );
    assertEquals(snippetText("<b>x</b>&amp;&lt;y&gt;"), "x&<y>");
  } finally {
    await wiki.close();
  }
});

Deno.test("wikipedia engine: API error object, 429 and an unreachable wiki are typed failures", async () => {
  const wiki = startFakeWikipedia(ARTICLES);
  try {
    const e = wikipediaEngine({ url: wiki.url, timeoutMs: 5000 });
    wiki.mode = "error";
    const apiErr = await assertRejects(() => e.search("x", { limit: 3 }), SearchError);
    assertStringIncludes(apiErr.message, 'The "srsearch" parameter must be set.');
    wiki.mode = "limited";
    const limited = await assertRejects(
      () => e.search("x", { limit: 3 }),
      SearchError,
    ) as SearchError;
    assertEquals(limited.failure.kind, "rate_limit");
    assertEquals(limited.failure.status, 429);
  } finally {
    await wiki.close();
  }
  const down = wikipediaEngine({ url: `http://127.0.0.1:${deadPort()}`, timeoutMs: 5000 });
  const err = await assertRejects(() => down.search("x", { limit: 3 }), SearchError) as SearchError;
  assertEquals(err.failure.kind, "connection");
  assertStringIncludes(err.failure.hint, "needs the internet");
  // The Status page never sends a query to Wikipedia.
  assertEquals((await down.status()).state, "not_checked");
});

Deno.test("a sourced run on Wikipedia reads the articles and every citation resolves", async () => {
  const wiki = startFakeWikipedia(ARTICLES);
  const h = await harness({
    fake: { reply: "A smoker calms bees [1]. Made up [7]." },
    env: { LDR_SEARCH_WIKIPEDIA_URL: wiki.url, LDR_SEARCH_ALLOW_PRIVATE_URLS: "true" },
  });
  try {
    const { run, body } = await sourcedRun(h, "How does smoke calm bees?", "wikipedia");
    assertEquals(body.sources.map((s) => [s.title, s.state]), [["Bee smoker", "read"], [
      "Varroa destructor",
      "read",
    ]]);
    assertEquals(body.citations.removed, 1);
    const first = body.citations.citations[0];
    assertStringIncludes(body.passages[first.passages[0]], "cool smoke");
    assertStringIncludes(run.text, "(Wikipedia)");
    assert(wiki.requests.some((u) => u.pathname === "/wiki/Bee_smoker"));
  } finally {
    await h.close();
    await wiki.close();
  }
});
