/**
 * Progress that tells the truth on the run view: a quick answer's bar follows its tokens, a
 * stalled stream says "no output for N s" with the limit, a detailed run stopped mid-way shows
 * each step's real end state with labels that do not repeat the question, and a long stream is
 * followed unless the person scrolls up (then "Jump to live" brings them back).
 */
import { assert, assertEquals } from "../assert.ts";
import { json } from "../helpers.ts";
import { HAVE_CHROMIUM } from "./browser.ts";
import { ask, askDetailed, stackTest, withStack } from "./stack.ts";

const opts = { ignore: !HAVE_CHROMIUM, sanitizeResources: false, sanitizeOps: false };

function words(n: number): string {
  return Array.from({ length: n }, (_, i) => `w${i + 1}`).join(" ");
}

stackTest("a quick answer's progress follows its tokens against the answer budget", {
  lm: { tokenDelayMs: 20, reply: words(300) },
}, async (stack) => {
  await stack.app.app.request("/api/settings", json("PATCH", { "llm.max_tokens": 400 }));
  const page = await stack.page();
  await ask(page, stack.url, "Progress?");
  await page.waitForFunction(() =>
    (document.querySelector(".answer")?.textContent ?? "").includes("w150")
  );
  await page.waitForFunction(() => {
    const bar = document.querySelector("progress.bar") as HTMLProgressElement | null;
    return bar !== null && bar.value >= 20;
  });
  await page.click("button.stop");
  await page.waitForSelector(".run-status .badge.cancelled");
});

stackTest("a stream silent for 15 s says so, with the request timeout", {
  lm: { tokenDelayMs: 5, reply: words(50), fault: { kind: "hang", afterTokens: 10 } },
}, async (stack) => {
  await stack.app.app.request("/api/settings", json("PATCH", { "llm.request_timeout": 90 }));
  const page = await stack.page();
  await ask(page, stack.url, "Will it stall?");
  await page.waitForFunction(() =>
    (document.querySelector(".answer")?.textContent ?? "").includes("w5")
  );
  await page.waitForFunction(
    () => /No output for 1\d s/.test(document.querySelector(".run-status")?.textContent ?? ""),
    undefined,
    { timeout: 25_000 },
  );
  const text = (await page.textContent(".run-status"))!;
  assert(text.includes("after 90 s"), text);
  assert(!text.includes("Asking"), text);
  await page.click("button.stop");
  await page.waitForSelector(".run-status .badge.cancelled");
});

stackTest("a detailed run stopped in sub-question 2 shows done, stopped and skipped steps", {
  lm: { tokenDelayMs: 25, reply: words(120) },
}, async (stack) => {
  const page = await stack.page();
  const question = "How do ocean tides work around the world?";
  await askDetailed(page, stack.url, question);
  await page.waitForSelector(".steps li.running:text-matches('^\\\\S*\\\\s*2\\\\.')", {
    timeout: 30_000,
  });
  await page.click("button.stop");
  await page.waitForSelector(".run-status .badge.cancelled");
  const states = await page.locator(".steps li").evaluateAll((els) =>
    els.map((e) => e.className.replace("step ", ""))
  );
  assertEquals(states, ["done", "done", "stopped", "skipped", "skipped"]);
  const labels = await page.locator(".steps li").allTextContents();
  for (const l of labels) assert(!l.includes(question), `label repeats the question: ${l}`);
});

Deno.test({
  ...opts,
  name: "a long stream is followed; scrolling up stops that and Jump to live returns",
  async fn() {
    const reply = Array.from({ length: 300 }, (_, i) => `Line ${i + 1} of the answer.\n\n`).join(
      "",
    );
    await withStack({ lm: { tokenDelayMs: 8, reply } }, async (stack) => {
      const page = await stack.page();
      await ask(page, stack.url, "A very long answer");
      const bottomGap = () =>
        page.evaluate(() => {
          const el = document.documentElement;
          return el.scrollHeight - el.scrollTop - el.clientHeight;
        });
      await page.waitForFunction(() => document.documentElement.scrollHeight > 2500);
      assert((await bottomGap()) < 120, "following the stream");
      await page.mouse.wheel(0, -1500);
      await page.waitForSelector("button.jump-live");
      const top = await page.evaluate(() => scrollY);
      await page.waitForFunction(
        (h) => document.documentElement.scrollHeight > h + 400,
        await page.evaluate(() => document.documentElement.scrollHeight),
      );
      assertEquals(await page.evaluate(() => scrollY), top, "stays where the person put it");
      await page.click("button.jump-live");
      await page.waitForFunction(() => !document.querySelector("button.jump-live"));
      assert((await bottomGap()) < 120, "back at the live end");
      await page.click("button.stop");
    });
  },
});

Deno.test({
  ...opts,
  name: "a detailed run shows its plan as it forms instead of an empty box",
  async fn() {
    const plan = "1. What causes tides?\n2. Why two a day?\n3. What are spring tides?\n";
    await withStack({ lm: { tokenDelayMs: 250, reply: plan } }, async (stack) => {
      const page = await stack.page();
      await askDetailed(page, stack.url, "Explain tides");
      await page.waitForFunction(() => {
        const pre = document.querySelector(".plan-live") as HTMLElement | null;
        return !!pre && !pre.hidden && (pre.textContent ?? "").includes("causes");
      });
      await page.click("button.stop");
      await page.waitForSelector(".run-status .badge.cancelled");
    });
  },
});
