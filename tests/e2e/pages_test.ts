/**
 * Settings (save, validation, Test connection on unsaved values), History (list, open, export,
 * delete) and Status in real Chromium against the fake LM Studio.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "../assert.ts";
import { json } from "../helpers.ts";
import { HAVE_CHROMIUM } from "./browser.ts";
import { ask, deadPort, hydrated, openPage, stackTest } from "./stack.ts";

const opts = { ignore: !HAVE_CHROMIUM, sanitizeResources: false, sanitizeOps: false };

stackTest(
  "settings: Test connection probes unsaved values, saving works, bad temperature is refused",
  {},
  async (stack) => {
    const page = await openPage(stack, "/settings");
    const group = page.locator("#group-lmstudio");
    const dead = `http://127.0.0.1:${deadPort()}`;
    await page.fill("#setting-llm-lmstudio-url", dead);
    await group.locator("button", { hasText: "Test connection" }).click();
    await group.locator(".test-result .dot.bad").waitFor();
    assertStringIncludes(
      (await group.locator(".test-result").textContent())!,
      `Not reachable at ${dead}`,
    );
    // Nothing was saved by testing.
    let saved = await (await stack.app.app.request("/api/settings")).json();
    assertEquals(saved.settings["llm.lmstudio.url"].value, stack.lm.url);

    await page.fill("#setting-llm-lmstudio-url", `${stack.lm.url}/v1/`);
    await group.locator("button", { hasText: "Test connection" }).click();
    await group.locator(".test-result .dot.ok").waitFor();
    assertStringIncludes(
      (await group.locator(".test-result").textContent())!,
      "LM Studio is running",
    );

    await page.fill("#setting-llm-temperature", "0.3");
    await page.click("button[type=submit]");
    await page.waitForSelector(".settings-form > .row [role=status].ok");
    saved = await (await stack.app.app.request("/api/settings")).json();
    assertEquals(saved.settings["llm.temperature"].value, 0.3);
    assertEquals(saved.settings["llm.lmstudio.url"].value, stack.lm.url, "/v1/ normalised away");

    await page.fill("#setting-llm-temperature", "5");
    await page.click("button[type=submit]");
    const err = await page.waitForSelector("#setting-llm-temperature-err");
    assertStringIncludes((await err.textContent())!, "at most 2");
    saved = await (await stack.app.app.request("/api/settings")).json();
    assertEquals(saved.settings["llm.temperature"].value, 0.3, "nothing saved");
    assertEquals(stack.errors.filter((e) => !e.includes("400")), []);
  },
);

stackTest(
  "the research page's controls save field by field, with the server's validation messages",
  {},
  async (stack) => {
    const page = await openPage(stack);
    await page.fill("#f-llm-max_tokens", "2048");
    await page.fill("#f-llm-local_context_window_size", "100"); // below the 512 minimum
    await page.waitForSelector("#f-llm-local_context_window_size-err");
    assertStringIncludes(
      (await page.textContent("#f-llm-local_context_window_size-err"))!,
      "at least 512",
    );
    // The valid key was saved on its own even though the batch had an invalid one.
    await page.waitForFunction(async () => {
      const r = await fetch("/api/settings");
      return (await r.json()).settings["llm.max_tokens"].value === 2048;
    });
    await page.fill("#f-llm-local_context_window_size", "8192");
    await page.waitForFunction(async () => {
      const r = await fetch("/api/settings");
      return (await r.json()).settings["llm.local_context_window_size"].value === 8192;
    });
    await page.waitForSelector("#f-llm-local_context_window_size-err", { state: "detached" });
  },
);

Deno.test({
  ...opts,
  name: "env-locked settings show locked on the research page with their variable",
  async fn() {
    const { startFakeLmStudio } = await import("../fakes/lmstudio.ts");
    const { serve, testApp } = await import("../helpers.ts");
    const { launchBrowser } = await import("./browser.ts");
    const lm = await startFakeLmStudio();
    const app = await testApp({
      env: { LDR_LLM_LMSTUDIO_URL: lm.url, LDR_LLM_TEMPERATURE: "0.2" },
    });
    const s = serve(app.app);
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage();
      await page.goto(`${s.url}/`);
      await hydrated(page);
      assert(await page.isDisabled("#f-llm-temperature"), "temperature locked");
      assert(await page.isDisabled("#f-llm-lmstudio-url"), "URL locked");
      const text = (await page.textContent(".llm"))!;
      assertStringIncludes(text, "Locked: set by LDR_LLM_TEMPERATURE");
      assertStringIncludes(text, "Locked: set by LDR_LLM_LMSTUDIO_URL");
      await page.waitForSelector(".status-line .dot.ok");
    } finally {
      await browser.close();
      await s.close();
      app.close();
      await lm.close();
    }
  },
});

stackTest(
  "history lists runs with status, model, date and duration; open, export and delete work",
  { lm: { reply: "A short **answer**." } },
  async (stack) => {
    const page = await stack.page();
    const id = await ask(page, stack.url, "What is in the history?");
    await page.waitForSelector(".run-status .badge.completed");

    await page.goto(`${stack.url}/history`);
    await hydrated(page);
    const row = page.locator(`tr[data-run="${id}"]`);
    const text = (await row.textContent())!;
    assertStringIncludes(text, "What is in the history?");
    assertStringIncludes(text, "completed");
    assertStringIncludes(text, "qwen2.5-7b-instruct");
    assertMatch(text, /\d{4}-\d\d-\d\d \d\d:\d\d/);
    assertMatch(text, /\d+ ms|\d+\.\d s/);

    const exportHref = (await row.locator("a", { hasText: "Export" }).getAttribute("href"))!;
    const md = await page.evaluate(async (h) => {
      const r = await fetch(h);
      return { type: r.headers.get("content-type"), body: await r.text() };
    }, exportHref);
    assertStringIncludes(md.type!, "text/markdown");
    assertStringIncludes(md.body, "A short **answer**.");

    await row.locator("a", { hasText: "Open" }).click();
    await page.waitForURL(`**/research/${id}`);
    await page.waitForSelector(".answer strong");
    await page.goBack();
    await hydrated(page);

    page.once("dialog", (d) => d.accept());
    await page.locator(`tr[data-run="${id}"] button`, { hasText: "Delete" }).click();
    await page.waitForSelector(`tr[data-run="${id}"].deleted`);
    const gone = await stack.app.app.request(`/api/research/${id}`);
    assertEquals(gone.status, 404);
    await gone.body?.cancel();
    await page.reload();
    assertEquals(await page.locator(`tr[data-run="${id}"]`).count(), 0);
    assertStringIncludes((await page.textContent("main"))!, "No research yet");
  },
);

stackTest(
  "status lists every provider with state, latency, server kind and models with context",
  {},
  async (stack) => {
    await stack.app.app.request(
      "/api/settings",
      json("PATCH", { "llm.llamacpp.url": `http://127.0.0.1:${deadPort()}` }),
    );
    const page = await stack.page();
    await page.goto(`${stack.url}/status`);
    const lm = page.locator("#provider-lmstudio");
    assertStringIncludes((await lm.locator("h2").textContent())!, "Available");
    assertStringIncludes((await lm.locator(".facts").textContent())!, "LM Studio");
    assertMatch((await lm.locator(".facts").textContent())!, /\d+ ms/);
    const table = (await lm.locator("table").textContent())!;
    assertStringIncludes(table, "Qwen2.5 7B Instruct");
    assertStringIncludes(table, "4,096");
    assertStringIncludes(table, "32,768");
    assertStringIncludes(table, "embedding");
    assertEquals(await lm.locator(".checklist").count(), 0, "nothing to fix");

    // The provider in use comes first; one not in use is folded away as "not configured",
    // with no red state and no latency for a server that never answered.
    assertEquals(await page.locator(".provider").first().getAttribute("id"), "provider-lmstudio");
    const llama = page.locator("#provider-llamacpp");
    assertEquals(await llama.evaluate((e) => e.tagName), "DETAILS");
    assertEquals(await llama.getAttribute("open"), null);
    assertStringIncludes((await llama.locator("h2").textContent())!, "Not configured");
    assertEquals(await llama.locator(".dot.bad, .state.bad").count(), 0);
    assert(!(await llama.textContent())!.includes("Latency"), "no latency when unreachable");
    await llama.locator("summary").click();
    assertStringIncludes(
      (await llama.locator(".checklist").textContent())!,
      "curl http://127.0.0.1:",
    );
    assertStringIncludes((await page.textContent("#provider-openai"))!, "no API key is set");
    assertStringIncludes(
      (await page.textContent("#provider-openai_endpoint"))!,
      "Not configured",
    );

    // No models loaded: the checklist says how to load one.
    stack.lm.set({ models: [], jit: false });
    await page.goto(`${stack.url}/status`);
    assertStringIncludes((await lm.locator("h2").textContent())!, "No models");
    assertStringIncludes((await lm.locator(".checklist").textContent())!, "lms load");

    // Auth required: the checklist names the token setting and its variable.
    stack.lm.set({ apiToken: "secret-token" });
    await page.goto(`${stack.url}/status`);
    assertStringIncludes((await lm.locator("h2").textContent())!, "Needs an API key");
    assertStringIncludes(
      (await lm.locator(".checklist").textContent())!,
      "LDR_LLM_LMSTUDIO_API_KEY",
    );
  },
);
