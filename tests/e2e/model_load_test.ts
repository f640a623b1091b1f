/**
 * Model loading in real Chromium against the fake LM Studio's native load API: the picker's
 * Load… with context presets and a progress bar, Reload with larger context… behind a
 * confirmation, and the Research form's pre-flight warning that reloads and then starts the run.
 */
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { openPage, stackTest } from "./stack.ts";

stackTest(
  "picker: Load… offers presets up to the maximum (recommended marked), shows progress, then the loaded state",
  { lm: { loadMs: 1500 } },
  async (stack) => {
    const page = await openPage(stack);
    const gemma = page.locator(".model-list li", { hasText: "Gemma 4" });
    await gemma.locator("button.load-open").click();
    const options = await gemma.locator("select.load-size option").allTextContents();
    assertEquals(options, [
      "4k",
      "8k",
      "16k",
      "32k (recommended for research)",
      "64k",
      "128k",
      "256k (maximum)",
    ]);
    assertEquals(await gemma.locator("select.load-size").inputValue(), "32768");
    await gemma.locator("select.load-size").selectOption("16384");
    await gemma.locator("button.load-go").click();
    // While LM Studio loads: a bar and the elapsed time.
    await gemma.locator(".load-progress progress").waitFor();
    await page.waitForFunction(() =>
      /Loading google\/gemma-4-26b-a4b with 16384 tokens of context… [1-9] s/.test(
        document.querySelector(".load-progress")?.textContent ?? "",
      )
    );
    await gemma.locator(".badge.loaded").waitFor();
    assertStringIncludes((await gemma.textContent())!, "ctx 16k of 256k");
    assertEquals(stack.lm.options.models[1].loaded_instances[0].config.context_length, 16384);
    assertEquals(stack.errors, []);
  },
);

stackTest(
  "picker: Reload with larger context… asks first, offers only larger sizes, and reloads",
  {},
  async (stack) => {
    const page = await openPage(stack);
    const qwen = page.locator(".model-list li", { hasText: "Qwen2.5 7B Instruct" });
    await qwen.locator("button.load-open", { hasText: "Reload with larger context…" }).click();
    const options = await qwen.locator("select.load-size option").allTextContents();
    assertEquals(options, ["8k", "16k", "32k (recommended for research) (maximum)"]);
    await qwen.locator("button.load-go").click();
    // Nothing happens before the confirmation.
    await qwen.locator(".load-confirm").waitFor();
    assertStringIncludes((await qwen.locator(".load-confirm").textContent())!, "Other programs");
    assertEquals(stack.lm.requests.filter((r) => r.path.startsWith("/api/v1/models/")).length, 0);
    await qwen.locator("button.load-confirm-yes").click();
    await page.waitForFunction(() =>
      document.querySelector(".model-list")?.textContent?.includes("ctx 32k of 32k")
    );
    const paths = stack.lm.requests.map((r) => r.path).filter((p) =>
      p.startsWith("/api/v1/models/")
    );
    assertEquals(paths, ["/api/v1/models/unload", "/api/v1/models/load"]);
    assertEquals(stack.errors, []);
  },
);

stackTest(
  "pre-flight: a detailed run that will not fit 4096 is offered the reload, which then starts it",
  { lm: { loadMs: 300, reply: "Tides follow the moon." } },
  async (stack) => {
    const page = await openPage(stack);
    await page.check("input[name=mode][value=detailed]");
    await page.fill("#query", "Explain tides");
    await page.click("button[type=submit]");
    const note = page.locator(".preflight");
    await note.waitFor();
    assertStringIncludes((await note.textContent())!, "has 4096");
    assertEquals(stack.lm.chatRequests().length, 0, "nothing started yet");
    await note.locator("button.preflight-fix", {
      hasText: "Reload qwen2.5-7b-instruct with 8k tokens of context and start",
    }).click();
    await page.waitForURL(/\/research\/[^/]+$/);
    const id = decodeURIComponent(new URL(page.url()).pathname.split("/").pop()!);
    assertEquals(stack.lm.options.models[0].loaded_instances[0].config.context_length, 8192);
    const run = await (await stack.app.app.request(`/api/research/${id}`)).json();
    assertEquals(run.run.settings.contextWindow, 8192, "the run was sized for the new context");
    assert(stack.lm.chatRequests().length >= 1);
    assertEquals(stack.errors, []);
  },
);
