/**
 * Smaller things around the pages: an unknown page is an HTML page (the API keeps JSON), the nav
 * marks Research on a run page, History follows running runs live, the phone layout (stacked
 * tables, sticky Stop), and the keyboard (skip link, arrowing the model list).
 */
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { HAVE_CHROMIUM } from "./browser.ts";
import { ask, hydrated, startStack } from "./stack.ts";

const opts = { ignore: !HAVE_CHROMIUM, sanitizeResources: false, sanitizeOps: false };

function words(n: number): string {
  return Array.from({ length: n }, (_, i) => `w${i + 1}`).join(" ");
}

Deno.test({
  ...opts,
  name: "an unknown page is an HTML 404 with navigation; an unknown API path stays JSON",
  async fn() {
    const stack = await startStack();
    try {
      const page = await stack.page();
      const res = await page.goto(`${stack.url}/no-such-page`);
      assertEquals(res?.status(), 404);
      assertStringIncludes((await page.textContent("h1"))!, "Page not found");
      assertEquals(await page.locator("nav[aria-label=Main] a").count(), 4);
      const api = await fetch(`${stack.url}/api/nothing`, { headers: { accept: "text/html" } });
      assertEquals(api.status, 404);
      assertEquals((await api.json()).error.kind, "not_found");
    } finally {
      await stack.close();
    }
  },
});

Deno.test({
  ...opts,
  name: "a run page marks Research in the nav; History updates a running run without reload",
  async fn() {
    const stack = await startStack({ lm: { tokenDelayMs: 30, reply: words(80) } });
    try {
      const page = await stack.page();
      await ask(page, stack.url, "Live history?");
      assertEquals(
        (await page.textContent("nav[aria-label=Main] a[aria-current=page]"))?.trim(),
        "Research",
      );
      await page.goto(`${stack.url}/history`);
      await hydrated(page);
      const badge = page.locator("table.history tbody tr").first().locator(".badge");
      assertEquals((await badge.textContent())?.trim(), "running");
      await page.waitForFunction(
        () => document.querySelector("table.history tbody tr .badge")?.textContent === "completed",
        undefined,
        { timeout: 20_000 },
      );
      assert(/\d/.test((await page.textContent("table.history tbody tr .duration"))!));
      assertEquals(stack.errors, []);
    } finally {
      await stack.close();
    }
  },
});
