/**
 * The first hour end to end, as issue-free as a new user needs it: LM Studio down, then up, then
 * token-protected; the user reaches a finished answer, retries it and asks a follow-up, and never
 * sees a setting key or the container advice on the way.
 */
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { json } from "../helpers.ts";
import { HAVE_CHROMIUM } from "./browser.ts";
import { deadPort, hydrated, startStack } from "./stack.ts";

Deno.test({
  name: "down, up, token-protected: a finished, retried and followed-up answer, no keys shown",
  ignore: !HAVE_CHROMIUM,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const stack = await startStack({ lm: { tokenDelayMs: 2, reply: "Nitrogen, about 78 %." } });
    const seen: string[] = [];
    try {
      const realUrl = stack.lm.url;
      const dead = `http://127.0.0.1:${deadPort()}`;
      await stack.app.app.request("/api/settings", json("PATCH", { "llm.lmstudio.url": dead }));
      const page = await stack.page();
      page.setDefaultTimeout(60_000);
      const look = async () => seen.push(await page.evaluate(() => document.body.innerText));

      await page.goto(`${stack.url}/`);
      await hydrated(page);
      await page.waitForSelector(".status-line .dot.bad");
      await look();
      // "Up": the right address; then LM Studio starts requiring a token.
      stack.lm.set({ apiToken: "tok-1" });
      await page.fill("#f-llm-lmstudio-url", realUrl);
      await page.waitForSelector(".status-line .dot.warn");
      await look();
      await page.fill("#f-llm-lmstudio-api_key", "tok-1");
      await page.waitForSelector(".status-line .dot.ok");
      await page.waitForSelector(".model-list");
      await page.locator(".model-list li", { hasText: "Qwen2.5" }).locator("input").check();
      await page.waitForSelector("text=Saved");
      await look();

      await page.fill("#query", "Which gas is most common in air?");
      await page.press("#query", "Enter");
      await page.waitForURL(/\/research\/[^/]+$/);
      await hydrated(page);
      await page.waitForSelector(".run-status .badge.completed");
      await look();
      const first = page.url();

      await page.click("button.retry");
      await page.waitForURL((u) => u.href !== first);
      await hydrated(page);
      await page.waitForSelector(".run-status .badge.completed");
      await look();

      stack.lm.set({ reply: "Oxygen, about 21 %." });
      await page.fill("#follow-up", "And the second?");
      await page.press("#follow-up", "Enter");
      await page.waitForSelector(".follow-of");
      await page.waitForSelector(".run-status .badge.completed");
      assertStringIncludes((await page.textContent(".answer"))!, "Oxygen, about 21 %.");
      await look();
      assertEquals(stack.lm.chatRequests().length, 3);
      for (const text of seen) {
        assert(!/\bllm\.[a-z_]+/.test(text), `a setting key on screen: ${text.match(/llm\.\S+/)}`);
        assert(!text.includes("host.docker.internal"), "no container advice outside a container");
      }
    } finally {
      await stack.close();
    }
  },
});
