/**
 * The first hour on the Research page, as a new user meets it: LM Studio down (one message, in
 * one place), coming up (the model list follows without Refresh), token-protected (a needed token
 * is not a rejected one; the field is not "optional" then), no model loaded (pick one below and
 * it works), and field labels instead of setting keys.
 */
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { DEFAULT_MODELS } from "../fakes/lmstudio.ts";
import { json } from "../helpers.ts";
import { HAVE_CHROMIUM } from "./browser.ts";
import { deadPort, hydrated, openPage, stackTest, withStack } from "./stack.ts";

const opts = { ignore: !HAVE_CHROMIUM, sanitizeResources: false, sanitizeOps: false };

/** How often `needle` occurs in the page's visible text. */
async function occurrences(page: import("playwright-core").Page, needle: string): Promise<number> {
  const text = await page.evaluate(() => document.body.innerText);
  return text.split(needle).length - 1;
}

stackTest("LM Studio down: one message with the one next step; coming up refreshes the models", {
  lm: { apiToken: "tok-123" },
}, async (stack) => {
  const dead = `http://127.0.0.1:${deadPort()}`;
  await stack.app.app.request("/api/settings", json("PATCH", { "llm.lmstudio.url": dead }));
  const page = await stack.page();
  page.setDefaultTimeout(60_000); // several status polls in a row on a loaded machine
  await page.goto(`${stack.url}/`);
  await hydrated(page);
  await page.waitForSelector(".status-line .dot.bad");
  assertEquals(await occurrences(page, dead), 1, "the URL is named once");
  assertEquals(await page.locator(".model-list").count(), 0);
  assertEquals(await occurrences(page, "Could not list models"), 0);
  assertEquals(await occurrences(page, "refused"), 0);

  // Token-protected, no token yet: "needs a token", and the field is not "optional".
  await page.fill("#f-llm-lmstudio-url", stack.lm.url);
  await page.waitForSelector(".status-line .dot.warn");
  const need = (await page.textContent(".status-text"))!;
  assertStringIncludes(need, "needs a token");
  assertStringIncludes(need, "“LM Studio API token”");
  const label = (await page.textContent("label[for=f-llm-lmstudio-api_key]"))!;
  assert(!label.includes("optional"), label);
  assertStringIncludes(label, "required");
  // A wrong token is "rejected", not "needed".
  await page.fill("#f-llm-lmstudio-api_key", "wrong");
  await page.waitForFunction(() =>
    (document.querySelector(".status-text")?.textContent ?? "").includes("rejected")
  );
  assertEquals(await page.locator(".model-list").count(), 0);
  // The right token: green, and the list appears without pressing Refresh.
  await page.fill("#f-llm-lmstudio-api_key", "tok-123");
  await page.waitForSelector(".status-line .dot.ok");
  await page.waitForSelector(".model-list");
  assertEquals(await occurrences(page, "Could not list models"), 0);

  // The server drops the token requirement later: still fine; then it goes away and comes
  // back (token required again) and the page follows on its own, without Refresh.
  stack.lm.set({ apiToken: "other" });
  await page.waitForSelector(".status-line .dot.warn", { timeout: 40_000 });
  await page.waitForFunction(() => !document.querySelector(".model-list li input[value='']"));
  stack.lm.set({ apiToken: "tok-123" });
  await page.waitForSelector(".status-line .dot.ok", { timeout: 40_000 });
  await page.waitForSelector(".model-list li");
  assertEquals(stack.errors.filter((e) => !/401|Failed to load/.test(e)), []);
});

Deno.test({
  ...opts,
  name: "no model loaded: the refusal says to pick one below, and a picked model runs (JIT)",
  async fn() {
    const models = structuredClone(DEFAULT_MODELS).map((m) => ({ ...m, loaded_instances: [] }));
    await withStack({ lm: { models, jit: true, reply: "Loaded and answered." } }, async (stack) => {
      const page = await openPage(stack);
      await page.waitForSelector(".model-list");
      const line = (await page.textContent(".status-text"))!;
      assertStringIncludes(line, "2 chat models: 0 loaded, 2 available");
      await page.fill("#query", "Hello?");
      await page.press("#query", "Enter");
      const err = (await (await page.waitForSelector(".submit-error")).textContent())!;
      assertStringIncludes(err, "Pick a model below");
      assertStringIncludes(err, "LM Studio loads it");
      assert(!/llm\.\w+/.test(await page.evaluate(() => document.body.innerText)), "no keys");
      await page.locator(".model-list li", { hasText: "Gemma" }).locator("input").check();
      await page.waitForSelector("text=Saved");
      await page.press("#query", "Enter");
      await page.waitForURL(/\/research\/[^/]+$/);
      await hydrated(page);
      await page.waitForSelector(".run-status .badge.completed");
      assertStringIncludes((await page.textContent(".answer"))!, "Loaded and answered.");
    });
  },
});

stackTest(
  "field errors and notes use the labels on screen; max tokens over the context says so",
  {},
  async (stack) => {
    const page = await openPage(stack);
    await page.waitForSelector(".model-list");
    await page.locator(".model-list li", { hasText: "Qwen2.5" }).locator("input").check();
    await page.fill("#f-llm-max_tokens", "0");
    await page.waitForSelector("text=Not saved");
    const text = await page.evaluate(() => document.body.innerText);
    assertStringIncludes(text, "Not saved: check Max tokens");
    assert(!/llm\.\w+/.test(text), `no setting keys on screen: ${text.match(/llm\.\S+/)}`);
    // Qwen is loaded with 4k: 30 000 max tokens cannot be honoured, and the page says so.
    await page.fill("#f-llm-max_tokens", "30000");
    const note = await page.waitForSelector("#f-llm-max_tokens-note");
    assertStringIncludes((await note.textContent())!, "4,096-token context");
    await page.fill("#f-llm-max_tokens", "1000");
    await page.waitForSelector("#f-llm-max_tokens-note", { state: "detached" });
    // Labels come from the schema, the same as on the Settings page.
    assertEquals(
      (await page.textContent("label[for=f-llm-local_context_window_size]"))?.trim(),
      "Local context window",
    );
  },
);
