/**
 * The Research page and the run view in real Chromium against the fake LM Studio: status dot,
 * model picker, streaming, Stop (the fake sees the abort), reload mid-run, connection errors,
 * error panels, and hostile model output.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "../assert.ts";
import { HAVE_CHROMIUM } from "./browser.ts";
import {
  answerText,
  ask,
  askDetailed,
  deadPort,
  hydrated,
  openPage,
  stackTest,
  withStack,
} from "./stack.ts";

const opts = { ignore: !HAVE_CHROMIUM, sanitizeResources: false, sanitizeOps: false };

/** `w1 w2 … wN`: every word unique, so duplicated or lost text is easy to spot. */
function words(n: number): string {
  return Array.from({ length: n }, (_, i) => `w${i + 1}`).join(" ");
}

Deno.test({
  ...opts,
  name: "the research page shows LM Studio running, lists chat models only, and streams an answer",
  async fn() {
    const reply = `${words(60)}\n\n**bold end**`;
    await withStack({ lm: { tokenDelayMs: 15, reply } }, async (stack) => {
      const page = await openPage(stack);
      await page.waitForSelector(".status-line .dot.ok");
      assertEquals(
        (await page.textContent(".status-text"))?.trim(),
        "LM Studio is running · 2 chat models: 1 loaded, 1 available (JIT: loaded on first use)",
      );
      // The endpoint field is there, pre-filled with the configured URL; the key is optional.
      assertEquals(await page.inputValue("#f-llm-lmstudio-url"), stack.lm.url);
      assertStringIncludes(
        (await page.textContent("label[for=f-llm-lmstudio-api_key]"))!,
        "optional",
      );

      const list = await page.waitForSelector(".model-list");
      const text = (await list.textContent())!;
      assertStringIncludes(text, "Qwen2.5 7B Instruct");
      assertStringIncludes(text, "Gemma 4 26B A4B");
      assert(!/nomic|embed/i.test(text), `no embedding model in the picker: ${text}`);
      const qwen = page.locator(".model-list li", { hasText: "Qwen2.5 7B Instruct" });
      assertEquals((await qwen.locator(".badge").textContent())?.trim(), "loaded");
      assertStringIncludes((await qwen.textContent())!, "ctx 4k of 32k");
      const gemma = page.locator(".model-list li", { hasText: "Gemma 4" });
      assertEquals((await gemma.locator(".badge").textContent())?.trim(), "not loaded");

      // Picking a model saves it to settings (debounced PATCH).
      await qwen.locator("input[type=radio]").check();
      assertEquals(await page.inputValue("#f-llm-model"), "qwen2.5-7b-instruct");
      await page.waitForSelector("text=Saved");
      const saved = await (await stack.app.app.request("/api/settings")).json();
      assertEquals(saved.settings["llm.model"].value, "qwen2.5-7b-instruct");

      // Shift+Enter is a new line, Enter submits.
      await page.fill("#query", "Why is the sky blue?");
      await page.press("#query", "Shift+Enter");
      await page.type("#query", "Briefly.");
      assertEquals(await page.inputValue("#query"), "Why is the sky blue?\nBriefly.");
      assertEquals(new URL(page.url()).pathname, "/");
      await page.press("#query", "Enter");
      await page.waitForURL(/\/research\/[^/]+$/);
      await hydrated(page);

      // Text arrives while the run is still running: it streams, it does not appear at the end.
      await page.waitForFunction(() => {
        const t = document.querySelector(".answer")?.textContent ?? "";
        return t.includes("w5") && !t.includes("w60") &&
          document.querySelector(".run-status .badge")?.textContent === "running";
      });
      await page.waitForSelector(".run-status .badge.completed");
      assertEquals(await answerText(page), `${words(60)} bold end`);
      assertEquals(await page.locator(".answer strong").textContent(), "bold end");
      assertStringIncludes((await page.textContent(".m-model"))!, "qwen2.5-7b-instruct");
      assert(/\d+(\.\d+)? tok\/s/.test((await page.textContent(".m-tps"))!), "tokens/s shown");
      assert(/\d+ ms|\d\.\d s/.test((await page.textContent(".m-ttft"))!), "TTFT shown");
      const chat = stack.lm.chatRequests().at(-1)!;
      assertStringIncludes(JSON.stringify(chat.body), "Briefly.");
      assertEquals(stack.errors, []);
    });
  },
});

stackTest("Stop aborts the upstream request and keeps the partial text", {
  lm: { tokenDelayMs: 60, reply: words(400) },
}, async (stack) => {
  const page = await stack.page();
  await ask(page, stack.url, "A long answer, please");
  await page.waitForFunction(() =>
    (document.querySelector(".answer")?.textContent ?? "").includes("w5")
  );
  // Live figures while it streams (estimates until the server's metrics arrive).
  await page.waitForFunction(() =>
    /≈ \d+(\.\d)? tok\/s/.test(document.querySelector(".m-tps")?.textContent ?? "")
  );
  // First token: the server's measured figure (it came before the first delta), no guess.
  assertMatch((await page.textContent(".m-ttft"))!.trim(), /^\d+ ms$/);
  await page.click("button.stop");
  const aborted = await stack.lm.waitForAbort((r) => r.path === "/v1/chat/completions");
  assertEquals(aborted.abortedPhase, "streaming");
  await page.waitForSelector(".run-status .badge.cancelled");
  const kept = await answerText(page);
  assert(kept.startsWith("w1 w2 w3 w4 w5"), kept.slice(0, 60));
  assert(!kept.includes("w400"), "stopped before the end");
  assertEquals(await page.locator("button.stop").count(), 0, "no Stop once stopped");
  assertEquals(stack.errors, []);
});

Deno.test({
  ...opts,
  name: "reloading the run view mid-run resumes the stream without duplicated text",
  async fn() {
    const reply = words(150);
    await withStack({ lm: { tokenDelayMs: 25, reply } }, async (stack) => {
      const page = await stack.page();
      await ask(page, stack.url, "Count for me");
      await page.waitForFunction(() =>
        (document.querySelector(".answer")?.textContent ?? "").includes("w20")
      );
      await page.reload();
      await hydrated(page);
      // Still mid-run after the reload: the text so far is back at once, and grows from there.
      await page.waitForFunction(() =>
        (document.querySelector(".answer")?.textContent ?? "").includes("w20")
      );
      const mid = await answerText(page);
      assert(reply.startsWith(mid), `mid-run text is a clean prefix: ${mid.slice(-80)}`);
      assertEquals(
        await page.textContent(".run-status .badge"),
        "running",
        "the reload landed mid-run",
      );
      await page.waitForFunction(() =>
        (document.querySelector(".answer")?.textContent ?? "").includes("w150")
      );
      const streamed = await answerText(page);
      assert(reply.startsWith(streamed), `streamed text has no duplicates: ${streamed.slice(-80)}`);
      await page.waitForSelector(".run-status .badge.completed");
      assertEquals(await answerText(page), reply);
      assertEquals(stack.lm.chatRequests().length, 1, "the reload did not start a second request");
      assertEquals(stack.errors, []);
    });
  },
});

stackTest(
  "a dead port shows the connection state with its fix, and starting says why not",
  {},
  async (stack) => {
    const dead = `http://127.0.0.1:${deadPort()}`;
    const page = await openPage(stack);
    await page.waitForSelector(".status-line .dot.ok");
    await page.fill("#f-llm-lmstudio-url", dead);
    await page.waitForSelector(".status-line .dot.bad");
    assertEquals(
      (await page.textContent(".status-text"))?.trim(),
      `Not reachable at ${dead} — start the server in LM Studio's Developer tab`,
    );
    assertEquals(await page.getAttribute(".status-line a", "href"), "/status");
    const saved = await (await stack.app.app.request("/api/settings")).json();
    assertEquals(saved.settings["llm.lmstudio.url"].value, dead);

    await page.fill("#query", "Anyone there?");
    await page.press("#query", "Enter");
    // The refusal points at the status line instead of repeating it.
    const err = await page.waitForSelector(".submit-error");
    const text = (await err.textContent())!;
    assertStringIncludes(text, "Nothing was started");
    assert(!text.includes(dead), `the status line is the one message: ${text}`);
    await page.click(".submit-error a[href='#llm-status']");
    assertEquals(await page.evaluate(() => document.activeElement?.id), "llm-status");
    assertEquals(new URL(page.url()).pathname, "/", "nothing was started");

    // The status page explains the same state with the exact fix.
    await page.goto(`${stack.url}/status`);
    const lm = page.locator("#provider-lmstudio");
    assertStringIncludes((await lm.textContent())!, "Not reachable");
    assertStringIncludes((await lm.locator(".checklist").textContent())!, "lms server start");
    assertEquals(await page.locator("script").count(), 0, "the status page ships no JS");
  },
);

stackTest("an error mid-stream shows title, message and hint in a panel below the partial text", {
  lm: {
    tokenDelayMs: 5,
    reply: words(40),
    fault: { kind: "error-frame", afterTokens: 10, message: "Model crashed while generating" },
  },
}, async (stack) => {
  const page = await stack.page();
  await ask(page, stack.url, "Crash please");
  const panel = await page.waitForSelector(".error-panel");
  await page.waitForSelector(".run-status .badge.failed");
  const title = (await page.textContent(".error-panel h2"))!;
  assert(title.length > 0, "a title");
  assertStringIncludes((await panel.textContent())!, "Model crashed while generating");
  assert(((await page.textContent(".error-panel .hint")) ?? "").length > 0, "a hint");
  assert((await answerText(page)).startsWith(words(10)), "partial text kept above the panel");
  const above = await page.evaluate(() => {
    const a = document.querySelector(".answer")!, p = document.querySelector(".error-panel")!;
    return !!(a.compareDocumentPosition(p) & Node.DOCUMENT_POSITION_FOLLOWING);
  });
  assert(above, "the panel comes after the text");
});

Deno.test({
  ...opts,
  name: "hostile model output renders inert: raw HTML is text, no handlers, no javascript: links",
  async fn() {
    const reply =
      `Hi <img src=x onerror="window.__pwned=1"> and <script>window.__pwned=2</script>\n\n` +
      `[click](javascript:window.__pwned=3) <a href="#" onclick="window.__pwned=4">x</a>\n\n` +
      `<svg onload="window.__pwned=5"></svg> **safe**`;
    await withStack({ lm: { reply } }, async (stack) => {
      const page = await stack.page();
      await ask(page, stack.url, "Say something nasty");
      await page.waitForSelector(".run-status .badge.completed");
      await page.waitForSelector(".answer strong");
      const found = await page.evaluate(() => {
        const a = document.querySelector(".answer")!;
        const withHandlers = [...a.querySelectorAll("*")].filter((el) =>
          [...el.attributes].some((at) => at.name.startsWith("on"))
        );
        return {
          pwned: (window as unknown as { __pwned?: number }).__pwned ?? null,
          imgs: a.querySelectorAll("img,script,svg,iframe").length,
          handlers: withHandlers.length,
          jsLinks: [...a.querySelectorAll("a")].filter((x) =>
            (x.getAttribute("href") ?? "").trim().toLowerCase().startsWith("javascript:")
          ).length,
          text: a.textContent,
        };
      });
      assertEquals(
        { pwned: found.pwned, imgs: found.imgs, handlers: found.handlers, jsLinks: found.jsLinks },
        { pwned: null, imgs: 0, handlers: 0, jsLinks: 0 },
      );
      assertStringIncludes(found.text!, "<img src=x onerror=", "raw HTML is shown as text");
      assertEquals(stack.errors, [], "nothing even tried to run (no CSP violations)");
    });
  },
});

stackTest("a detailed report shows its progress steps as they happen, then the kept report", {
  lm: { tokenDelayMs: 10, reply: words(30) },
}, async (stack) => {
  const page = await stack.page();
  await askDetailed(page, stack.url, "Explain tides");
  await page.waitForSelector(".step.running");
  await page.waitForSelector("progress.bar");
  await page.waitForSelector(".run-status .badge.completed");
  const steps = await page.locator(".steps li").allTextContents();
  assertEquals(steps.length, 5, steps.join(" | ")); // plan, 3 sub-questions, report
  assertEquals(await page.locator(".steps li.done").count(), 5);
  assertStringIncludes(steps[4], "Write the report");
  const headings = await page.locator(".answer h2").allTextContents();
  assert(headings.includes("Research notes"), headings.join(" | "));
  assertEquals(await page.locator(".answer h3").count(), 3, "one section per sub-question");
  assertEquals(stack.errors, []);
});
