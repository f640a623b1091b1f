import { assert, assertEquals } from "../assert.ts";
import { json, serve, testApp } from "../helpers.ts";
import { HAVE_CHROMIUM, launchBrowser } from "./browser.ts";

const HOSTILE = "</script><script>window.__pwned=1</script><!-- \u2028 & \"q\" 'x'";

Deno.test({
  name: "the settings island hydrates server HTML in place, keeps hostile props intact, and saves",
  ignore: !HAVE_CHROMIUM,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const t = await testApp();
    await t.app.request("/api/settings", json("PATCH", { "llm.model": HOSTILE }));
    const s = serve(t.app);
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(String(e)));
      // Hold the bundle back so we can tag a server-rendered node before hydration runs.
      let release!: () => void;
      const held = new Promise<void>((r) => release = r);
      await page.route("**/static/client.*.js", async (route) => {
        await held;
        await route.continue();
      });
      // Module scripts are deferred, so DOMContentLoaded waits for the held bundle: wait for the
      // server-rendered node instead.
      await page.goto(`${s.url}/settings`, { waitUntil: "commit" });
      await page.waitForSelector("#setting-llm-model");
      await page.evaluate(() => {
        (document.querySelector("#setting-llm-model") as unknown as { __ssr: number }).__ssr = 1;
      });
      release();
      await page.waitForSelector('ds-island[data-hydrated="1"]');
      const sameNode = await page.evaluate(() =>
        (document.querySelector("#setting-llm-model") as unknown as { __ssr?: number }).__ssr === 1
      );
      assert(sameNode, "hydration reused the server-rendered input instead of re-creating it");
      assertEquals(await page.inputValue("#setting-llm-model"), HOSTILE);
      assertEquals(
        await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned),
        undefined,
      );

      await page.fill("#setting-llm-temperature", "1.25");
      await page.click("button[type=submit]");
      await page.waitForSelector("[role=status].ok");
      const stored = await (await t.app.request("/api/settings")).json();
      assertEquals(stored.settings["llm.temperature"].value, 1.25);

      await page.fill("#setting-llm-temperature", "7");
      await page.click("button[type=submit]");
      const err = await page.waitForSelector("#setting-llm-temperature-err");
      assert((await err.textContent())?.includes("at most 2"));
      assertEquals(errors, []);
    } finally {
      await browser.close();
      await s.close();
      t.close();
    }
  },
});
