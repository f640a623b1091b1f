/**
 * What a person can do when a run has ended: Retry with the same settings, Edit and run again
 * (question prefilled), Ask a follow-up (the earlier report travels to the model as context and
 * the two runs link to each other), question drafts kept per tab, and the keyboard around Stop.
 */
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { answerText, ask, hydrated, openPage, stackTest } from "./stack.ts";

function words(n: number): string {
  return Array.from({ length: n }, (_, i) => `w${i + 1}`).join(" ");
}

stackTest("a stopped run offers Retry (same settings), focuses it, and Retry starts a new run", {
  lm: { tokenDelayMs: 40, reply: words(300) },
}, async (stack) => {
  const page = await stack.page();
  const first = await ask(page, stack.url, "Stop me");
  await page.waitForFunction(() =>
    (document.querySelector(".answer")?.textContent ?? "").includes("w3")
  );
  // Esc stops the run; focus lands on Retry, not on <body>.
  await page.keyboard.press("Escape");
  await page.waitForSelector(".run-status .badge.cancelled");
  await page.waitForSelector("button.retry");
  await page.waitForFunction(() => document.activeElement?.classList.contains("retry"));
  const before = stack.lm.chatRequests().length;
  stack.lm.set({ tokenDelayMs: 1, reply: "Retried." });
  await page.click("button.retry");
  await page.waitForURL((u) => !u.pathname.endsWith(encodeURIComponent(first)));
  await hydrated(page);
  await page.waitForSelector(".run-status .badge.completed", { timeout: 30_000 });
  assertEquals(stack.lm.chatRequests().length, before + 1);
  const a = stack.lm.chatRequests().at(-2)!.body as Record<string, unknown>;
  const b = stack.lm.chatRequests().at(-1)!.body as Record<string, unknown>;
  assertEquals(b.model, a.model);
  assertEquals(b.temperature, a.temperature);
  assertEquals(JSON.stringify(b.messages), JSON.stringify(a.messages));
  assertEquals(stack.errors, []);
});

stackTest("Edit and run again prefills the question; the draft survives navigation in the tab", {
  lm: { tokenDelayMs: 1, reply: "Short." },
}, async (stack) => {
  const page = await openPage(stack);
  await page.fill("#query", "Half-typed question");
  await page.click("nav >> text=Settings");
  await page.waitForURL(/\/settings$/);
  await page.goBack();
  await hydrated(page);
  await page.waitForFunction(() =>
    (document.querySelector("#query") as HTMLTextAreaElement).value === "Half-typed question"
  );
  await page.goto(`${stack.url}/`);
  await hydrated(page);
  await page.fill("#query", "Which gas is most common in air?");
  await page.check("input[name=mode][value=detailed]");
  await page.fill("#query", "Which gas is most common in air?");
  await page.check("input[name=mode][value=quick]");
  await page.press("#query", "Enter");
  await page.waitForURL(/\/research\/[^/]+$/);
  await hydrated(page);
  await page.waitForSelector(".run-status .badge.completed");
  await page.click("button.edit");
  await page.waitForURL((u) => u.pathname === "/");
  await hydrated(page);
  await page.waitForFunction(() =>
    (document.querySelector("#query") as HTMLTextAreaElement).value ===
      "Which gas is most common in air?"
  );
  assertEquals(stack.errors, []);
});

stackTest("Ask a follow-up carries the earlier report to the model, and the runs link both ways", {
  lm: { tokenDelayMs: 1, reply: "Nitrogen, about 78 %." },
}, async (stack) => {
  const page = await stack.page();
  const first = await ask(page, stack.url, "Which gas is most common in air?");
  await page.waitForSelector(".run-status .badge.completed");
  assertEquals(await answerText(page), "Nitrogen, about 78 %.");
  stack.lm.set({ reply: "Oxygen is second." });
  await page.fill("#follow-up", "And the second most common?");
  await page.press("#follow-up", "Enter");
  await page.waitForURL((u) => !u.pathname.endsWith(encodeURIComponent(first)));
  await hydrated(page);
  await page.waitForSelector(".run-status .badge.completed");
  const sent = JSON.stringify(stack.lm.chatRequests().at(-1)!.body);
  assertStringIncludes(sent, "Nitrogen, about 78 %.");
  assertStringIncludes(sent, "Which gas is most common in air?");
  assertStringIncludes(sent, "And the second most common?");
  // The follow-up names the run it follows; that run lists the follow-up.
  const back = page.locator(".follow-of a");
  assertEquals((await back.textContent())?.trim(), "Which gas is most common in air?");
  await back.click();
  await page.waitForURL((u) => u.pathname.endsWith(encodeURIComponent(first)));
  const list = (await page.textContent(".follow-ups"))!;
  assertStringIncludes(list, "And the second most common?");
  assert(!(await page.inputValue("#follow-up")), "the sent follow-up draft is cleared");
  assertEquals(stack.errors, []);
});
