/**
 * The Settings page as one consistent form: a section index, a Save bar that stays on screen with
 * the count of unsaved changes, a prompt before leaving with unsaved edits, the same model picker
 * as the Research page, labels (not setting keys) in messages, and locked fields that look locked.
 */
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { openPage, stackTest } from "./stack.ts";

stackTest(
  "settings: sticky Save bar, unsaved-changes guard, the model picker, labels in messages",
  {},
  async (stack) => {
    const page = await openPage(stack, "/settings");
    assert((await page.locator("nav.sections a").count()) >= 3, "a section index");
    await page.fill("#setting-llm-temperature", "0.4");
    assertEquals((await page.textContent(".save-bar .unsaved"))?.trim(), "1 unsaved change");
    // The Save bar is on screen at the top of a long form.
    const bar = await page.locator(".save-bar").boundingBox();
    assert(bar && bar.y + bar.height <= 900 && bar.y >= 0, `save bar visible: ${bar?.y}`);

    // Leaving with an unsaved edit asks first.
    const asked = new Promise<string>((resolve) =>
      page.once("dialog", async (d) => {
        resolve(d.type());
        await d.dismiss();
      })
    );
    await page.click("nav[aria-label=Main] >> text=History");
    assertEquals(await asked, "beforeunload");
    assertEquals(new URL(page.url()).pathname, "/settings", "stayed on the page");

    // The same model picker as the Research page.
    await page.waitForSelector(".field[data-key='llm.model'] .model-list");
    await page.locator(".field[data-key='llm.model'] .model-list li", { hasText: "Qwen2.5" })
      .locator("input").check();
    assertEquals(await page.inputValue("#setting-llm-model"), "qwen2.5-7b-instruct");
    await page.click(".save-bar button[type=submit]");
    await page.waitForSelector(".save-bar [role=status].ok");
    const msg = (await page.textContent(".save-bar [role=status]"))!;
    assertStringIncludes(msg, "Temperature");
    assertStringIncludes(msg, "Model");
    assert(!/llm\.\w+/.test(msg), msg);
    const saved = await (await stack.app.app.request("/api/settings")).json();
    assertEquals(saved.settings["llm.model"].value, "qwen2.5-7b-instruct");
    assertEquals(saved.settings["llm.temperature"].value, 0.4);
    assertEquals(await page.textContent(".save-bar .unsaved"), "");
    // No setting keys on the page's own text (descriptions use labels).
    const text = await page.evaluate(() => document.querySelector("main")!.innerText);
    assert(!/\bllm\.[a-z_]+\b/.test(text), `keys on screen: ${text.match(/llm\.[a-z_.]+/)}`);
  },
);
