/**
 * The run view renders the server's events and nothing else: a detailed run that fails shows, live
 * and without a reload, everything its kept text has: the notes heading, each sub-question's
 * failure note and the error report (the server emits them as `text` events); continuing it
 * re-runs the failed step and the report of the failure goes.
 */
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { hydrated, openPage, stackTest } from "./stack.ts";

const PLAN = "1. What is alpha?\n2. How does beta work?\n3. Why gamma?";

stackTest("a failed detailed run shows its step notes and error report live, without a reload", {
  lm: { reply: PLAN, tokenDelayMs: 20, headerDelayMs: 200 },
}, async (stack) => {
  // Once sub-question 1 is asked, every later call fails (set as soon as the fake sees it).
  const faulted = stack.lm.waitForRequest(
    (r) => r.path === "/v1/chat/completions" && stack.lm.chatRequests().indexOf(r) === 1,
    20_000,
  ).then(() => stack.lm.set({ fault: { kind: "server-error", message: "out of memory" } }));
  const res = await fetch(`${stack.url}/api/research`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query: "alpha beta gamma", mode: "detailed" }),
  });
  assertEquals(res.status, 202);
  const { id } = await res.json();
  const page = await openPage(stack, `/research/${id}`);
  await page.evaluate(() => ((window as unknown as { __same: number }).__same = 1));
  await faulted;
  await page.waitForSelector(".run-status .badge.failed", { timeout: 30_000 });
  await page.waitForFunction(() =>
    [...document.querySelectorAll(".answer h2")].some((h) => h.textContent!.includes("⚠"))
  );
  const same = await page.evaluate(() => (window as unknown as { __same?: number }).__same);
  assertEquals(same, 1, "the page was not reloaded");
  const h2 = await page.locator(".answer h2").allTextContents();
  assert(h2.includes("Research notes"), h2.join(" | "));
  assert(h2.some((h) => h.includes("⚠ Server Error")), `error report: ${h2.join(" | ")}`);
  const { run } = await (await fetch(`${stack.url}/api/research/${id}`)).json();
  const failed = run.steps.filter((s: { status: string }) => s.status === "failed").length;
  assert(failed >= 2, `${failed} sub-questions failed`);
  const notes = await page.locator(".answer blockquote").allTextContents();
  assertEquals(notes.length, failed, "a failure note per failed sub-question");
  for (const n of notes) assertStringIncludes(n, "out of memory");
  assertEquals(await page.locator(".answer h3").count(), 3, "one section per sub-question");
  // What the page shows is what a reload shows.
  const live = await page.locator(".answer").innerHTML();
  await page.reload();
  await hydrated(page);
  await page.waitForSelector(".run-status .badge.failed");
  await page.waitForFunction(() =>
    [...document.querySelectorAll(".answer h2")].some((h) => h.textContent!.includes("⚠"))
  );
  assertEquals(await page.locator(".answer").innerHTML(), live);

  // "Continue where it stopped" re-runs the failed step on the same run; the report goes.
  stack.lm.set({ fault: null });
  await page.click(".resume-run button");
  await page.waitForSelector(".run-status .badge.completed", { timeout: 30_000 });
  const after = await page.locator(".answer h2").allTextContents();
  assert(!after.some((h) => h.includes("⚠")), `no error report left: ${after.join(" | ")}`);
  assert(after.includes("Research notes"), after.join(" | "));
  assertEquals(page.url(), `${stack.url}/research/${id}`, "the same run");
  assertEquals(stack.errors, []);
});
