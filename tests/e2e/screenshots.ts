/**
 * Regenerates docs/screenshots/ (shown in the README): the Research page in light and dark, a
 * finished run of a reasoning model (its thinking folded under the answer) with its next steps (Retry, Edit and run again, Ask a follow-up), the Status,
 * Settings and History pages, and the phone layout, against the fake LM Studio in headless
 * Chromium.
 *
 *     deno task build && deno run -A tests/e2e/screenshots.ts
 */
import { json } from "../helpers.ts";
import { deadPort, hydrated, startStack } from "./stack.ts";

const OUT = new URL("../../docs/screenshots/", import.meta.url);

const REPLY =
  `Rayleigh scattering: air molecules scatter short (blue) wavelengths of sunlight far more
than long (red) ones, so blue light reaches your eyes from every direction of the sky.

## Key points

- Scattering strength grows as **1/λ⁴**: blue (~450 nm) scatters about 5× more than red (~700 nm).
- Violet scatters even more, but sunlight has less of it and our eyes are less sensitive to it.
- At sunrise and sunset light crosses more air, so most blue is scattered away and reds remain.

## Caveats

Clouds look white because their droplets are large and scatter all wavelengths about equally
(Mie scattering).`;

async function main() {
  await Deno.mkdir(OUT, { recursive: true });
  for (const scheme of ["light", "dark"] as const) {
    const stack = await startStack({
      colorScheme: scheme,
      width: 1100,
      // A reasoning model (LM Studio's `reasoning_content` field): the run shows it folded.
      lm: {
        reply: REPLY,
        reasoning: "Sunlight is white. Air molecules are far smaller than visible wavelengths, " +
          "so Rayleigh scattering applies and favours short wavelengths.",
        reasoningField: "reasoning_content",
        tokenDelayMs: 2,
      },
    });
    try {
      await stack.app.app.request(
        "/api/settings",
        json("PATCH", { "llm.llamacpp.url": `http://127.0.0.1:${deadPort()}` }),
      );
      const page = await stack.page();
      await page.goto(`${stack.url}/`);
      await hydrated(page);
      await page.waitForSelector(".status-line .dot.ok");
      await page.locator(".model-list li", { hasText: "Qwen2.5" }).locator("input").check();
      await page.fill("#query", "Why is the sky blue?");
      await page.waitForSelector("text=Saved");
      await page.screenshot({
        path: new URL(`research-${scheme}.png`, OUT).pathname,
        fullPage: true,
      });

      await page.press("#query", "Enter");
      await page.waitForURL(/\/research\//);
      await page.waitForSelector(".run-status .badge.completed");
      await page.waitForTimeout(300);
      await page.screenshot({ path: new URL(`run-${scheme}.png`, OUT).pathname, fullPage: true });

      if (scheme === "light") {
        await page.goto(`${stack.url}/status`);
        await page.screenshot({ path: new URL("status.png", OUT).pathname, fullPage: true });
        await page.goto(`${stack.url}/settings`);
        await hydrated(page);
        await page.fill("#setting-llm-temperature", "0.5");
        await page.screenshot({ path: new URL("settings.png", OUT).pathname });
        await page.goto(`${stack.url}/history`);
        await page.screenshot({ path: new URL("history.png", OUT).pathname });
        await page.setViewportSize({ width: 390, height: 844 });
        await page.goto(`${stack.url}/`);
        await hydrated(page);
        await page.waitForSelector(".status-line .dot.ok");
        await page.screenshot({
          path: new URL("research-phone.png", OUT).pathname,
          fullPage: true,
        });
        await page.goto(`${stack.url}/history`);
        await page.screenshot({ path: new URL("history-phone.png", OUT).pathname });
      }
      if (stack.errors.length) console.error(stack.errors);
    } finally {
      await stack.close();
    }
  }
  console.log(`screenshots written to ${OUT.pathname}`);
}

if (import.meta.main) await main();
