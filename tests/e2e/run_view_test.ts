/**
 * The run view in Chromium, against the fake LM Studio: a reasoning model's `<think>` text is
 * shown collapsed under the answer and nowhere in it (a reload keeps it); "First token" counts
 * the wait and then shows the server's measured time, also to a page that joined mid-stream; the
 * server's pipeline steps and the one running now are shown; a detailed report that completes
 * while the reader is mid-page keeps what they were reading in place, under labelled sections; a
 * model that is thinking moves the progress bar (reasoning tokens come out of the same budget) and
 * is not called stalled.
 * Waits are on page state and on the fake's requests, never on sleeps: a stream that must stay
 * open hangs (fault `hang`) or is slowed until the test has looked.
 */
import type { Page } from "playwright-core";
import { assert, assertEquals, assertMatch } from "../assert.ts";
import { json } from "../helpers.ts";
import { answerText, ask, openPage, type Stack, stackTest } from "./stack.ts";

/** Starts a run through the API (no pre-flight) and returns its id. */
async function start(stack: Stack, query: string, mode: "quick" | "detailed"): Promise<string> {
  const res = await stack.app.app.request("/api/research", json("POST", { query, mode }));
  assertEquals(res.status, 202, await res.clone().text());
  return (await res.json()).id;
}

/** The "First token" figure in ms, or null when it is not a number yet. */
async function ttft(page: Page): Promise<number | null> {
  const t = (await page.textContent(".m-ttft"))!.trim();
  const m = /^(\d+(?:\.\d)?) (ms|s)$/.exec(t);
  return m ? Number(m[1]) * (m[2] === "s" ? 1000 : 1) : null;
}

// A llama.cpp server without a reasoning parser streams the thinking in the content.
const reply = "<think>The user wants a colour. Blue scatters most.</think>The sky is blue.";
stackTest("a reasoning model's <think> text is shown collapsed under the answer, never in it", {
  lm: { reply, tokenDelayMs: 5 },
}, async (stack) => {
  const page = await stack.page();
  const id = await ask(page, stack.url, "Why is the sky blue?");
  await page.waitForSelector(".run-status .badge.completed");
  assertEquals(await answerText(page), "The sky is blue.");
  const details = page.locator("details.reasoning");
  assert(await details.isVisible(), "the reasoning block is shown");
  assertEquals(await details.evaluate((d) => (d as HTMLDetailsElement).open), false);
  // Chunks that carried reasoning: "<think>The" … " most.</think>The" (8 of them).
  assertEquals((await page.textContent(".reasoning summary"))!.trim(), "Reasoning, 8 tokens");
  await page.click(".reasoning summary");
  assertEquals(
    (await page.locator(".reasoning-text").innerText()).trim(),
    "The user wants a colour. Blue scatters most.",
  );
  // Not in the export either; a reload replays it from the stored events.
  const md = await (await fetch(`${stack.url}/api/research/${id}/export.md`)).text();
  assert(!md.includes("scatters") && !md.includes("think>"), md);
  await page.reload();
  await page.waitForSelector(".run-status .badge.completed");
  await page.waitForSelector("details.reasoning:not([hidden])");
  assertEquals((await page.textContent(".reasoning summary"))!.trim(), "Reasoning, 8 tokens");
  assertEquals(await answerText(page), "The sky is blue.");
  assertEquals(stack.errors, []);
});

// Nothing ever comes: the figure counts the seconds waited.
stackTest("First token counts the wait, then shows the server's measured time, also when joined", {
  lm: { reply: "one two three four five six", fault: { kind: "hang", afterTokens: 0 } },
}, async (stack) => {
  const page = await stack.page();
  await ask(page, stack.url, "Silent?");
  await page.waitForFunction(() =>
    /^waiting… [1-9]\d* s$/.test(document.querySelector(".m-ttft")?.textContent ?? "")
  );
  await page.click("button.stop");
  await page.waitForSelector(".run-status .badge.cancelled");

  // The first token comes after 400 ms, then the stream hangs: the run stays live.
  stack.lm.set({ promptDelayMs: 400, fault: { kind: "hang", afterTokens: 3 } });
  const id = await ask(page, stack.url, "Measured?");
  await page.waitForFunction(() =>
    /^\d+ ms$/.test(document.querySelector(".m-ttft")?.textContent ?? "")
  );
  const live = (await ttft(page))!;
  assert(live >= 400, `live first token ${live} ms`);
  assert(await page.isVisible(".run-status .badge.running"), "still streaming");
  // A page opened mid-stream shows the same figure (it cannot time the token itself).
  const joined = await openPage(stack, `/research/${id}`);
  await joined.waitForFunction(() =>
    /^\d+ ms$/.test(document.querySelector(".m-ttft")?.textContent ?? "")
  );
  assertEquals(await ttft(joined), live);
  await joined.close();
  // Once the run ends, the final figure is the provider's own: the same measurement.
  await page.click("button.stop");
  await page.waitForSelector(".run-status .badge.cancelled");
  const final = (await ttft(page))!;
  assert(Math.abs(final - live) <= 2, `final ${final} ms vs live ${live} ms`);
  assertEquals(stack.errors, []);
});

const PLAN = "1. What is alpha?\n2. How does beta work?\n3. Why gamma?\n";

// The fake reads its fault after the header delay: set when a request arrives, it applies to it.
stackTest("the server's pipeline steps show with the one running now, and their real end states", {
  lm: { reply: PLAN, tokenDelayMs: 5, headerDelayMs: 50 },
}, async (stack) => {
  // Sub-question 2's stream hangs after a few tokens: the run stays in step 2 until stopped.
  const hang = stack.lm.waitForRequest(
    (r) => r.path === "/v1/chat/completions" && stack.lm.chatRequests().indexOf(r) === 2,
    20_000,
  ).then(() => stack.lm.set({ fault: { kind: "hang", afterTokens: 3 } }));
  const id = await start(stack, "alpha beta gamma", "detailed");
  const page = await openPage(stack, `/research/${id}`);
  await hang;
  await page.waitForSelector(".steps li.running:text-matches('^\\\\S*\\\\s*2\\\\.')");
  assertEquals(
    (await page.textContent(".step-now"))!.trim(),
    "Step 2 of 3: Answer the sub-questions (sub-question 2 of 3)",
  );
  const labels = await page.locator(".steps li").allTextContents();
  assert(labels[0].includes("Plan sub-questions"), labels.join(" | "));
  assert(labels.at(-1)!.includes("Write the report"), labels.join(" | "));
  const states = () =>
    page.locator(".steps li").evaluateAll((els) =>
      els.map((e) => e.className.replace("step ", ""))
    );
  assertEquals(await states(), ["done", "done", "running", "pending", "pending"]);
  await page.click("button.stop");
  await page.waitForSelector(".run-status .badge.cancelled");
  assertEquals(await states(), ["done", "done", "stopped", "skipped", "skipped"]);
  assertEquals(await page.locator(".step-now").count(), 0, "no current step once ended");
  // The same after a reload (the states come from the stored step events).
  await page.reload();
  await page.waitForSelector(".run-status .badge.cancelled");
  await page.waitForFunction(() => document.querySelectorAll(".steps li").length === 5);
  assertEquals(await states(), ["done", "done", "stopped", "skipped", "skipped"]);
  assertEquals(stack.errors, []);
});

const paragraphs = Array.from(
  { length: 40 },
  (_, i) => `Paragraph ${i + 1} explains one more detail of the matter.`,
).join("\n\n");
stackTest("a detailed report completing while the reader is mid-page keeps their place, labelled", {
  lm: { reply: `${PLAN}\n${paragraphs}`, tokenDelayMs: 1 },
}, async (stack) => {
  // The report (request 5: plan, three sub-questions, report) streams slowly until released.
  const slowed = stack.lm.waitForRequest(
    (r) => r.path === "/v1/chat/completions" && stack.lm.chatRequests().indexOf(r) === 4,
    30_000,
  ).then(() => stack.lm.set({ tokenDelayMs: 300 }));
  const id = await start(stack, "alpha beta gamma", "detailed");
  const page = await openPage(stack, `/research/${id}`);
  await slowed;
  await page.waitForFunction(() =>
    [...document.querySelectorAll(".answer h2")].some((h) => h.textContent === "Report")
  );
  // The reader scrolls up into sub-question 2's notes.
  const anchor = await page.evaluate(() => {
    let section = "";
    for (const el of document.querySelectorAll(".answer > div > *")) {
      if (/^H\d$/.test(el.tagName)) section = el.textContent ?? "";
      if (section.startsWith("2.") && el.textContent?.startsWith("Paragraph 20 ")) {
        el.scrollIntoView({ block: "start", behavior: "instant" });
        return { text: el.textContent, top: el.getBoundingClientRect().top, y: scrollY };
      }
    }
    throw new Error("no paragraph 20 under sub-question 2");
  });
  await page.waitForSelector("button.jump-live");
  stack.lm.set({ tokenDelayMs: 0 });
  await page.waitForSelector(".run-status .badge.completed", { timeout: 30_000 });
  const after = await page.evaluate((text) => {
    let section = "";
    for (const el of document.querySelectorAll(".answer > div > *")) {
      if (/^H\d$/.test(el.tagName)) section = el.textContent ?? "";
      if (section.startsWith("2.") && el.textContent === text) {
        return { top: el.getBoundingClientRect().top, y: scrollY };
      }
    }
    return null;
  }, anchor.text);
  assert(after, "the paragraph is still there");
  assert(Math.abs(after.top - anchor.top) <= 2, `moved from ${anchor.top} to ${after.top}`);
  assert(after.y > anchor.y, "the report moved first, so the page scrolled with the text");
  // The sections are labelled: the report first, the research notes after it.
  const h2 = await page.locator(".answer h2").allTextContents();
  assertEquals(h2.slice(0, 2), ["Report", "Research notes"]);
  assertMatch(await page.locator(".answer > div > *").first().textContent() ?? "", /^Report$/);
  assertEquals(stack.errors, []);
});

const thinking = Array.from({ length: 50 }, (_, i) => `thought${i + 1}`).join(" ");
stackTest("a model that is still thinking moves the progress bar and shows its reasoning live", {
  // The reasoning streams (LM Studio's `reasoning_content`), then the stream hangs: no answer yet.
  lm: {
    reply: "never sent",
    reasoning: thinking,
    reasoningField: "reasoning_content",
    tokenDelayMs: 5,
    fault: { kind: "hang", afterTokens: 50 },
  },
}, async (stack) => {
  await stack.app.app.request("/api/settings", json("PATCH", { "llm.max_tokens": 100 }));
  const page = await stack.page();
  await ask(page, stack.url, "Think first");
  await page.waitForFunction(() =>
    document.querySelector(".reasoning summary")?.textContent === "Reasoning, 50 tokens"
  );
  // 50 of the 100 tokens the answer may use went to thinking: the bar says so (5 % + 90 % × ½).
  await page.waitForFunction(() =>
    (document.querySelector("progress.bar") as HTMLProgressElement | null)?.value === 50
  );
  assertEquals(await answerText(page), "");
  await page.click(".reasoning summary");
  assert((await page.locator(".reasoning-text").innerText()).includes("thought50"));
  await page.click("button.stop");
  await page.waitForSelector(".run-status .badge.cancelled");
  assertEquals(stack.errors, []);
});

stackTest("a model thinking between sub-questions is not reported as a stalled stream", {
  lm: { reply: PLAN, tokenDelayMs: 5, headerDelayMs: 50 },
}, async (stack) => {
  // Sub-question 2 thinks for 50 tokens 400 ms apart (20 s, well past the 15 s stall note).
  const slow = stack.lm.waitForRequest(
    (r) => r.path === "/v1/chat/completions" && stack.lm.chatRequests().indexOf(r) === 2,
    20_000,
  ).then(() =>
    stack.lm.set({
      reasoning: Array.from({ length: 50 }, (_, i) => `step${i + 1}`).join(" "),
      reasoningField: "reasoning_content",
      tokenDelayMs: 400,
    })
  );
  const id = await start(stack, "alpha beta gamma", "detailed");
  const page = await openPage(stack, `/research/${id}`);
  await page.evaluate(() => {
    const w = window as unknown as { __said: string[] };
    w.__said = [];
    const el = document.querySelector(".run-status")!;
    new MutationObserver(() => w.__said.push(el.textContent ?? "")).observe(el, {
      subtree: true,
      childList: true,
      characterData: true,
    });
  });
  await slow;
  await page.waitForFunction(
    () =>
      /Reasoning, (4[89]|50) tokens/.test(
        document.querySelector(".reasoning summary")?.textContent ?? "",
      ),
    undefined,
    { timeout: 30_000 },
  );
  const said = await page.evaluate(() => (window as unknown as { __said: string[] }).__said);
  assert(said.length > 0, "the status line was watched");
  assertEquals(said.filter((t) => t.includes("No output")), [], "no stall note while thinking");
  await page.click("button.stop");
  await page.waitForSelector(".run-status .badge.cancelled");
  assertEquals(stack.errors, []);
});
