/**
 * What each page ships: one content-hashed, immutably cached client bundle within the 15 KB
 * (gzipped) budget, no JavaScript at all on pages without islands, and the Markdown chunk
 * (marked + DOMPurify) fetched only by the run view. Sizes are printed for the report.
 */
import { assert, assertEquals, assertLessOrEqual, assertMatch } from "../assert.ts";
import { CLIENT_JS, MARKDOWN_JS } from "../../lib/assets.ts";
import { HAVE_CHROMIUM } from "./browser.ts";
import { ask, hydrated, startStack } from "./stack.ts";

async function gzipSize(text: string): Promise<number> {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream("gzip"));
  return (await new Response(stream).arrayBuffer()).byteLength;
}

Deno.test("the client bundle (preact + every island) stays within 15 KB gzipped", async () => {
  const client = await gzipSize(CLIENT_JS.body);
  const markdown = await gzipSize(MARKDOWN_JS.body);
  console.log(
    `client bundle ${(CLIENT_JS.body.length / 1024).toFixed(1)} KiB, ` +
      `${(client / 1024).toFixed(1)} KiB gzipped; markdown chunk ` +
      `${(MARKDOWN_JS.body.length / 1024).toFixed(1)} KiB, ${
        (markdown / 1024).toFixed(1)
      } KiB gzipped`,
  );
  assertLessOrEqual(client, 15 * 1024);
  assert(!CLIENT_JS.body.includes("DOMPurify"), "the sanitiser is not in the main bundle");
  assertMatch(MARKDOWN_JS.path, /^\/static\/markdown\.[0-9a-f]{12}\.js$/);
});

Deno.test({
  name: "pages load only the JS they need: none on Status, the Markdown chunk only on the run view",
  ignore: !HAVE_CHROMIUM,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const stack = await startStack();
    try {
      const page = await stack.page();
      const scripts: string[] = [];
      page.on("request", (r) => {
        if (r.resourceType() === "script") scripts.push(new URL(r.url()).pathname);
      });
      await page.goto(`${stack.url}/status`);
      assertEquals(scripts, [], "the status page runs no JavaScript");

      await page.goto(`${stack.url}/`);
      await hydrated(page);
      assertEquals(scripts, [CLIENT_JS.path]);

      await ask(page, stack.url, "Which scripts?");
      await page.waitForSelector(".run-status .badge.completed");
      assertEquals(scripts.filter((s) => s === MARKDOWN_JS.path).length, 1);

      const res = await fetch(`${stack.url}${MARKDOWN_JS.path}`);
      await res.body?.cancel();
      assertEquals(res.headers.get("cache-control"), "public, max-age=31536000, immutable");
      assertEquals(stack.errors, []);
    } finally {
      await stack.close();
    }
  },
});
