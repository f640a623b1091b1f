/**
 * The one-click overflow fix in real Chromium: a detailed run whose report step overflows the
 * loaded context fails with a button "Reload <model> with 16k tokens of context and continue";
 * one click reloads the model in the fake LM Studio and resumes the run at the failed step,
 * which then finishes with the notes it had already written.
 */
import { assertEquals, assertStringIncludes } from "../assert.ts";
import { askDetailed, stackTest } from "./stack.ts";

stackTest("a run that overflows is fixed from the run page with one click and finishes", {
  lm: {
    loadMs: 400,
    reply: "A finding about tides.",
    fault: {
      kind: "context-overflow",
      matching: "Write the final research report",
      promptTokens: 12000,
      untilContext: 12001,
    },
  },
}, async (stack) => {
  const page = await stack.page();
  await askDetailed(page, stack.url, "Explain tides");
  const fix = page.locator(".error-panel button.context-fix-go");
  await fix.waitFor();
  assertEquals(
    (await fix.textContent())?.trim(),
    "Reload qwen2.5-7b-instruct with 16k tokens of context and continue",
  );
  const chatsBefore = stack.lm.chatRequests().length;
  await fix.click();
  await page.waitForSelector(".run-status .badge.completed", { timeout: 30_000 });
  assertEquals(stack.lm.chatRequests().length, chatsBefore + 1, "only the failed step re-ran");
  assertEquals(stack.lm.options.models[0].loaded_instances[0].config.context_length, 16384);
  assertStringIncludes((await page.textContent(".answer"))!, "A finding about tides.");
  assertEquals(await page.locator(".error-panel").count(), 0, "the error is gone");
  assertEquals(stack.errors, []);
});
