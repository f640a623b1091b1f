/**
 * The Sources panel and the citation popover in real Chromium: sources appear while the run is
 * still answering, the finished list is in citation order, and a `[n]` in the answer opens the
 * passage it cites.
 */
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { json } from "../helpers.ts";
import { startFakeSearxng } from "../fakes/searxng.ts";
import { startPageServer } from "../net/page_server.ts";
import { HAVE_CHROMIUM } from "./browser.ts";
import { hydrated, startStack } from "./stack.ts";

const opts = { ignore: !HAVE_CHROMIUM, sanitizeResources: false, sanitizeOps: false };

const PASSAGE = "The loaded context length is the number that limits every prompt.";

Deno.test({
  ...opts,
  name: "Sources panel fills live; a citation marker opens the cited passage",
  async fn() {
    const srv = startPageServer({
      "/doc": () =>
        new Response(
          `<html><head><title>Loaded context</title></head><body><p>${PASSAGE}</p></body></html>`,
          {
            headers: { "content-type": "text/html" },
          },
        ),
    });
    const searx = startFakeSearxng({
      results: [
        { url: `${srv.url}/doc`, title: "Loaded context", content: "About the loaded context." },
        { url: `${srv.url}/other`, title: "Unrelated page", content: "Bananas." },
      ],
    });
    const reply = `${"word ".repeat(80)}The loaded context limits prompts [1].`;
    const stack = await startStack({ lm: { reply, tokenDelayMs: 25 } });
    try {
      const patch = await stack.app.app.request(
        "/api/settings",
        json("PATCH", { "search.searxng.url": searx.url, "search.allow_private_urls": true }),
      );
      assertEquals(patch.status, 200, await patch.text());
      const started = await stack.app.app.request(
        "/api/research",
        json("POST", { query: "What limits prompts?", sources: { engines: ["searxng"] } }),
      );
      const { id } = await started.json();
      const page = await stack.page();
      await page.goto(`${stack.url}/research/${id}`);
      await hydrated(page);
      // Live: both sources are listed while the answer is still streaming.
      await page.waitForSelector(".sources-panel .sources.live .source >> nth=1");
      assertEquals(await page.locator(".run-status .badge").textContent(), "running");

      await page.waitForSelector(".run-status .badge.completed");
      const cite = await page.waitForSelector(".answer button.cite[data-cite='1']");
      // Finished: the cited source first with its number, the other under "Also consulted".
      const cited = (await page.textContent(".sources-panel .sources.cited"))!;
      assertStringIncludes(cited, "[1]");
      assertStringIncludes(cited, "Loaded context");
      assertStringIncludes((await page.textContent(".sources-panel"))!, "Also consulted");
      assertStringIncludes((await page.textContent(".sources-panel"))!, "Unrelated page");

      await cite.click();
      const pop = await page.waitForSelector(".cite-popover");
      const text = (await pop.textContent())!;
      assertStringIncludes(text, "Loaded context");
      await page.waitForSelector(".cite-popover .cite-passage");
      assertStringIncludes((await page.textContent(".cite-popover .cite-passage"))!, PASSAGE);
      await page.keyboard.press("Escape");
      assertEquals(await page.locator(".cite-popover").count(), 0);

      // A reload of the finished run shows the same (from the stored sources).
      await page.reload();
      await hydrated(page);
      await page.waitForSelector(".answer button.cite[data-cite='1']");
      assert((await page.locator(".sources-panel .sources.cited .source").count()) === 1);
      assertEquals(stack.errors, []);
    } finally {
      await stack.close();
      await searx.close();
      await srv.close();
    }
  },
});

Deno.test({
  ...opts,
  name: "the Research form's Sources choice starts a sourced run",
  async fn() {
    const searx = startFakeSearxng({
      results: [{
        url: "http://127.0.0.1:9/x",
        title: "A found page",
        content: "Its snippet [1].",
      }],
    });
    const stack = await startStack({ lm: { reply: "From the snippet [1]." } });
    try {
      const patch = await stack.app.app.request(
        "/api/settings",
        json("PATCH", { "search.searxng.url": searx.url }),
      );
      assertEquals(patch.status, 200);
      const page = await stack.page();
      await page.goto(`${stack.url}/`);
      await hydrated(page);
      await page.check("input[name=source-searxng]");
      await page.fill("#query", "What did the page say?");
      await page.press("#query", "Enter");
      await page.waitForURL(/\/research\//);
      await hydrated(page);
      await page.waitForSelector(".run-status .badge.completed");
      await page.waitForSelector(".sources-panel .sources.cited .source");
      assertStringIncludes((await page.textContent(".sources-panel"))!, "A found page");
      // The private result URL was not fetched: the snippet is what counts.
      assertStringIncludes((await page.textContent(".sources-panel"))!, "snippet");
      assertEquals(searx.requests.length > 0, true);
    } finally {
      await stack.close();
      await searx.close();
    }
  },
});
