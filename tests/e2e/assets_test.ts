/**
 * What each page ships: one content-hashed, immutably cached page bundle with only that page's
 * islands, within the 15 KB (gzipped) budget (every island is in one, so no page falls back to
 * the full bundle); no JavaScript at all on pages without islands; and
 * the Markdown chunk (marked + DOMPurify) fetched only by the run view. Sizes are printed.
 */
import { assert, assertEquals, assertLessOrEqual, assertMatch } from "../assert.ts";
import { CLIENT_JS, MARKDOWN_JS, PAGE_JS } from "../../lib/assets.ts";
import { pageBundleFor } from "../../lib/islands/bundles.ts";
import { ISLANDS } from "../../islands/registry.ts";
import { HAVE_CHROMIUM } from "./browser.ts";
import { ask, hydrated, withStack } from "./stack.ts";

async function gzipSize(text: string): Promise<number> {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream("gzip"));
  return (await new Response(stream).arrayBuffer()).byteLength;
}

Deno.test("each page bundle (preact + that page's islands) stays within 15 KB gzipped", async () => {
  for (const [name, asset] of Object.entries(PAGE_JS)) {
    const size = await gzipSize(asset.body);
    console.log(`page bundle ${name}: ${(size / 1024).toFixed(1)} KiB gzipped`);
    assertLessOrEqual(size, 15 * 1024, `page bundle ${name}`);
    assert(!asset.body.includes("DOMPurify"), `the sanitiser is not in the ${name} bundle`);
  }
  const client = await gzipSize(CLIENT_JS.body);
  const markdown = await gzipSize(MARKDOWN_JS.body);
  console.log(
    `client bundle ${(CLIENT_JS.body.length / 1024).toFixed(1)} KiB, ` +
      `${(client / 1024).toFixed(1)} KiB gzipped; markdown chunk ` +
      `${(MARKDOWN_JS.body.length / 1024).toFixed(1)} KiB, ${
        (markdown / 1024).toFixed(1)
      } KiB gzipped`,
  );
  // The full bundle (every island) is only the fallback for a page without a page bundle: no
  // page uses it, since every island sits in one (so every page ships within the budget above).
  for (const island of Object.keys(ISLANDS)) {
    assert(pageBundleFor([island]) !== null, `${island} is in a page bundle`);
  }
  assert(!CLIENT_JS.body.includes("DOMPurify"), "the sanitiser is not in the main bundle");
  assertMatch(MARKDOWN_JS.path, /^\/static\/markdown\.[0-9a-f]{12}\.js$/);
});

Deno.test({
  name: "pages load only the JS they need: none on Status, the Markdown chunk only on the run view",
  ignore: !HAVE_CHROMIUM,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await withStack({}, async (stack) => {
      const page = await stack.page();
      const scripts: string[] = [];
      page.on("request", (r) => {
        if (r.resourceType() === "script") scripts.push(new URL(r.url()).pathname);
      });
      await page.goto(`${stack.url}/status`);
      assertEquals(scripts, [], "the status page runs no JavaScript");

      await page.goto(`${stack.url}/`);
      await hydrated(page);
      assertEquals(scripts, [PAGE_JS.research.path]);
      scripts.length = 0;
      await page.goto(`${stack.url}/settings`);
      assertEquals(scripts, [PAGE_JS.settings.path]);
      scripts.length = 0;

      await ask(page, stack.url, "Which scripts?");
      await page.waitForSelector(".run-status .badge.completed");
      assertEquals(scripts.filter((s) => s === MARKDOWN_JS.path).length, 1);
      assert((scripts as string[]).includes(PAGE_JS.run.path), "the run view loads the run bundle");
      scripts.length = 0;
      await page.goto(`${stack.url}/history`);
      assertEquals(scripts, [PAGE_JS.history.path]);
      scripts.length = 0;
      await page.goto(`${stack.url}/library`);
      await hydrated(page);
      assertEquals(scripts, [PAGE_JS.library.path]);

      const res = await fetch(`${stack.url}${MARKDOWN_JS.path}`);
      await res.body?.cancel();
      assertEquals(res.headers.get("cache-control"), "public, max-age=31536000, immutable");
      assertEquals(stack.errors, []);
    });
  },
});
