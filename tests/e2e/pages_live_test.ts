/**
 * Smaller things around the pages: an unknown page is an HTML page (the API keeps JSON), the nav
 * marks Research on a run page, History follows running runs live, the phone layout (stacked
 * tables, sticky Stop), and the keyboard (skip link, arrowing the model list).
 */
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { ask, hydrated, openPage, stackTest } from "./stack.ts";
import { NAV } from "../../routes/components/Layout.tsx";

function words(n: number): string {
  return Array.from({ length: n }, (_, i) => `w${i + 1}`).join(" ");
}

stackTest(
  "an unknown page is an HTML 404 with navigation; an unknown API path stays JSON",
  {},
  async (stack) => {
    const page = await stack.page();
    const res = await page.goto(`${stack.url}/no-such-page`);
    assertEquals(res?.status(), 404);
    assertStringIncludes((await page.textContent("h1"))!, "Page not found");
    assertEquals(await page.locator("nav[aria-label=Main] a").count(), NAV.length);
    const api = await fetch(`${stack.url}/api/nothing`, { headers: { accept: "text/html" } });
    assertEquals(api.status, 404);
    assertEquals((await api.json()).error.kind, "not_found");
  },
);

stackTest("a run page marks Research in the nav; History updates a running run without reload", {
  lm: { tokenDelayMs: 30, reply: words(80) },
}, async (stack) => {
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
});

stackTest("phone: History and Status tables fit as cards; Stop stays on screen while running", {
  width: 390,
  lm: { tokenDelayMs: 15, reply: words(900) },
}, async (stack) => {
  const page = await stack.page();
  await page.setViewportSize({ width: 390, height: 844 });
  await ask(page, stack.url, "A long answer on a phone");
  await page.waitForFunction(() =>
    (document.querySelector(".answer")?.textContent ?? "").includes("w400")
  );
  await page.evaluate(() => scrollTo(0, document.body.scrollHeight));
  const stop = await page.locator("button.stop").boundingBox();
  assert(stop && stop.y >= 0 && stop.y + stop.height <= 844, `Stop visible: ${stop?.y}`);
  await page.click("button.stop");
  await page.waitForSelector(".run-status .badge.cancelled");
  for (const path of ["/history", "/status"]) {
    await page.goto(`${stack.url}${path}`);
    const wide = await page.evaluate(() => document.documentElement.scrollWidth);
    assert(wide <= 390, `${path} does not scroll sideways (${wide}px)`);
  }
  await page.goto(`${stack.url}/history`);
  const cell = page.locator("table.history tbody td[data-label=Model]").first();
  assertStringIncludes(
    (await cell.evaluate((e) => getComputedStyle(e, "::before").content))!,
    "Model",
  );
});

stackTest(
  "keyboard: the skip link shows on focus; arrowing the model list saves only on Enter",
  {},
  async (stack) => {
    const page = await openPage(stack);
    await page.waitForSelector(".model-list");
    await page.keyboard.press("Tab");
    const skip = await page.locator("a.skip").boundingBox();
    assert(
      skip && skip.width > 20 && skip.height > 10,
      `skip link visible: ${JSON.stringify(skip)}`,
    );
    const patches: string[] = [];
    page.on("request", (r) => {
      if (r.method() === "PATCH") patches.push(r.postData() ?? "");
    });
    await page.focus(".model-list input[value='']");
    await page.keyboard.press("ArrowDown");
    await page.keyboard.press("ArrowDown");
    await page.waitForTimeout(900); // longer than the save debounce: nothing may be sent
    assertEquals(patches, [], "arrowing past models saves nothing");
    await page.keyboard.press("Enter");
    await page.waitForSelector("text=Saved");
    assertEquals(patches.length, 1);
    assertStringIncludes(patches[0], "gemma");
    assertEquals(new URL(page.url()).pathname, "/", "Enter in the list does not submit");
  },
);
