import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { estimatePromptTokens } from "../../lib/research/budget.ts";
import type { ChatMessage } from "../../lib/providers/types.ts";
import { loadedModel } from "../fakes/lmstudio.ts";
import { harness, readSse } from "./support.ts";

const PLAN = "1. What is alpha?\n2. How does beta work?\n3. Why gamma?";

Deno.test("a failed sub-question is reported and the detailed run carries on to a report", async () => {
  const h = await harness({ fake: { reply: PLAN, headerDelayMs: 300 } });
  try {
    const nth = (n: number) =>
      h.lm.waitForRequest(
        (r) => r.path === "/v1/chat/completions" && h.lm.chatRequests().indexOf(r) === n - 1,
        10_000,
      );
    const third = nth(3);
    const fourth = nth(4);
    const { json } = await h.post({ query: "alpha beta gamma", mode: "detailed" });
    const id = json.id as string;
    // Sub-question 2 (the third call) breaks mid-stream; the fault is lifted for the next call.
    await third;
    h.lm.set({ fault: { kind: "error-frame", afterTokens: 2, message: "GPU fell over" } });
    await fourth;
    h.lm.set({ fault: null });
    const run = await h.waitRun(id);
    assertEquals(run.status, "completed");
    assertEquals(run.steps.map((s) => s.status), ["done", "failed", "done"]);
    assertEquals(run.steps[1].error?.kind, "server_error");
    assertEquals(run.error?.kind, "server_error", "the record keeps the step's error");
    const { events } = await readSse(`${h.url}/api/research/${id}/events`);
    const errors = events.filter((e) => e.event === "error");
    assertEquals(errors.length, 1);
    assertEquals([errors[0].data.step, errors[0].data.fatal], [2, false]);
    assertStringIncludes(String(errors[0].data.message), "GPU fell over");
    // The report came after the failure, and the notes keep the partial answer and the reason.
    assert(run.text.startsWith(`## Report\n\n${PLAN}`), run.text.slice(0, 100));
    assertStringIncludes(run.text, "### 2. How does beta work?\n\n1. What");
    assertStringIncludes(run.text, "⚠ **Server Error** (`server_error`)");
    assertEquals(h.lm.chatRequests().length, 5);
    assertEquals(events.at(-1)!.data, { status: "completed" });
  } finally {
    await h.close();
  }
});

Deno.test("when every sub-question fails the run fails, keeping the notes and an error report", async () => {
  const h = await harness({ fake: { reply: PLAN, headerDelayMs: 300 } });
  try {
    const second = h.lm.waitForRequest(
      (r) => r.path === "/v1/chat/completions" && h.lm.chatRequests().indexOf(r) === 1,
      10_000,
    );
    const { json } = await h.post({ query: "all fail", mode: "detailed" });
    await second;
    h.lm.set({ fault: { kind: "server-error", message: "out of memory" } });
    const run = await h.waitRun(json.id as string);
    assertEquals(run.status, "failed");
    assertEquals(run.steps.map((s) => s.status), ["failed", "failed", "failed"]);
    assertStringIncludes(run.text, "## Research notes");
    assertStringIncludes(run.text, "## ⚠ Server Error");
    assertStringIncludes(run.text, "out of memory");
    assertEquals(h.lm.chatRequests().length, 4, "no synthesis without material");
  } finally {
    await h.close();
  }
});

Deno.test("a connection loss stops asking further sub-questions", async () => {
  const h = await harness({ fake: { reply: PLAN, headerDelayMs: 300 } });
  try {
    const second = h.lm.waitForRequest(
      (r) => r.path === "/v1/chat/completions" && h.lm.chatRequests().indexOf(r) === 1,
      10_000,
    );
    const { json } = await h.post({ query: "server dies", mode: "detailed" });
    await second;
    h.lm.set({ fault: { kind: "reset", afterTokens: 1 } });
    const run = await h.waitRun(json.id as string);
    assertEquals(run.status, "failed");
    assertEquals(run.steps.map((s) => s.status), ["failed", "skipped", "skipped"]);
    assertEquals(run.error?.kind, "connection");
    assertEquals(h.lm.chatRequests().length, 2, "no further sub-questions and no synthesis");
    assertStringIncludes(run.text, "## ⚠ LLM Connection Error");
  } finally {
    await h.close();
  }
});

Deno.test("findings too long for the loaded context are trimmed before the report prompt, and progress says so", async () => {
  const filler = "This sentence pads the finding so that it is long. ".repeat(40);
  const context = 1500;
  const h = await harness({
    fake: { reply: `${PLAN}\n\n${filler}`, models: [loadedModel("tiny", context)] },
  });
  try {
    const { json } = await h.post({ query: "trim", mode: "detailed" });
    const id = json.id as string;
    const run = await h.waitRun(id);
    assertEquals(run.status, "completed", JSON.stringify(run.error));
    assertEquals(run.settings.contextWindow, context);
    const { events } = await readSse(`${h.url}/api/research/${id}/events`);
    const trimmed = events.find((e) => e.event === "progress" && e.data.trimmed);
    assert(trimmed, "a progress event announces the trimming");
    assertStringIncludes(String(trimmed.data.message), `${context}-token context`);
    // Every call's prompt plus the answer it asked for fits the context (by our estimate, which
    // is stricter than the fake's, which also refuses oversized prompts).
    for (const req of h.lm.chatRequests()) {
      const body = req.body as { messages: ChatMessage[]; max_tokens: number };
      assert(
        estimatePromptTokens(body.messages) + body.max_tokens <= context,
        `${estimatePromptTokens(body.messages)} + ${body.max_tokens} > ${context}`,
      );
    }
    const synthesis = JSON.stringify(h.lm.chatRequests()[4].body);
    assertStringIncludes(synthesis, "trimmed to fit the context window");
  } finally {
    await h.close();
  }
});
