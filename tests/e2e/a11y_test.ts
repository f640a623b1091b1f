/**
 * axe-core (injected from the npm package into the page, never fetched) finds nothing on every
 * page, in the light and the dark theme: Research (with its model list), a finished run with its
 * next steps, History, Settings, Status, the 404 page and the sign-in page.
 */
import axe from "axe-core";
import type { Page } from "playwright-core";
import { assertEquals } from "../assert.ts";
import { serve, testApp } from "../helpers.ts";
import { HAVE_CHROMIUM } from "./browser.ts";
import { ask, hydrated, startStack } from "./stack.ts";

const opts = { ignore: !HAVE_CHROMIUM, sanitizeResources: false, sanitizeOps: false };
const AXE_SOURCE = (axe as unknown as { source: string }).source;

/** axe's violations on the page as it is now, one line each (rule, impact, first targets). */
async function violations(page: Page): Promise<string[]> {
  // Evaluated through the DevTools protocol: the page's CSP (script-src 'self') stays in force.
  await page.evaluate(AXE_SOURCE);
  return await page.evaluate(async () => {
    // deno-lint-ignore no-explicit-any
    const res = await (globalThis as any).axe.run(document, {
      resultTypes: ["violations"],
    });
    // deno-lint-ignore no-explicit-any
    return res.violations.map((v: any) =>
      `${v.id} (${v.impact}): ${
        // deno-lint-ignore no-explicit-any
        v.nodes.slice(0, 3).map((n: any) => n.target.join(" ")).join(", ")} — ${v.help}`
    );
  });
}

for (const scheme of ["light", "dark"] as const) {
  Deno.test({
    ...opts,
    name: `axe finds nothing on any page (${scheme} theme)`,
    async fn() {
      const stack = await startStack({ colorScheme: scheme, lm: { tokenDelayMs: 1 } });
      const locked = await testApp({ config: { accessToken: "a11y-token" } });
      const lockedServer = serve(locked.app);
      try {
        const page = await stack.page();
        const found: Record<string, string[]> = {};
        const check = async (name: string) => {
          const v = await violations(page);
          if (v.length) found[name] = v;
        };

        await page.goto(`${stack.url}/`);
        await hydrated(page);
        await page.waitForSelector(".model-list");
        await page.locator(".model-list li", { hasText: "Qwen2.5" }).locator("input").check();
        await page.waitForSelector("text=Saved");
        await check("research");

        await ask(page, stack.url, "Why is the sky blue?");
        await page.waitForSelector(".run-status .badge.completed");
        await page.waitForSelector(".run-actions");
        await check("run");

        for (const path of ["/history", "/settings", "/status", "/no-such-page"]) {
          await page.goto(`${stack.url}${path}`);
          if (path === "/history" || path === "/settings") await hydrated(page);
          await check(path);
        }
        await page.goto(`${lockedServer.url}/login`);
        await check("/login");
        assertEquals(found, {});
      } finally {
        await lockedServer.close();
        locked.close();
        await stack.close();
      }
    },
  });
}
