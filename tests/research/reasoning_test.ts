/**
 * A reasoning model's thinking is kept apart from its answer: `<think>…</think>` in the content
 * (split across chunks, or opened by the chat template so only `</think>` streams) and a
 * provider's `reasoning_content` field become `reasoning` events, never part of the run's text,
 * its Markdown or JSON export; reload/replay (the stored event log) gives them back.
 */
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { createThinkSplitter } from "../../lib/research/think_split.ts";
import { tokenize } from "../fakes/recorder.ts";
import { harness, readSse } from "./support.ts";

/** Feeds `chunks` through one splitter; returns the answer, the reasoning and lone flags. */
function split(chunks: string[]) {
  const s = createThinkSplitter();
  let answer = "", reasoning = "", lone = 0;
  for (const p of [...chunks.map((c) => s.push(c)), s.end()]) {
    if (p.lone) {
      lone++;
      reasoning += answer;
      answer = "";
    }
    answer += p.answer;
    reasoning += p.reasoning;
  }
  return { answer, reasoning, lone };
}

Deno.test("the think splitter separates reasoning from the answer however the tags are cut", () => {
  const text = "<think>Let me see: 2+2.</think>The answer is 4.";
  // Every way of cutting the text into two chunks, and one character per chunk.
  for (let i = 0; i <= text.length; i++) {
    assertEquals(split([text.slice(0, i), text.slice(i)]), {
      answer: "The answer is 4.",
      reasoning: "Let me see: 2+2.",
      lone: 0,
    }, `cut at ${i}`);
  }
  assertEquals(split([...text]).answer, "The answer is 4.");
  // Opened by the template: only the close streams; what came before it was thinking.
  assertEquals(split(["Hmm, ", "think", "ing</th", "ink>\n\nAnswer."]), {
    answer: "\n\nAnswer.",
    reasoning: "Hmm, thinking",
    lone: 1,
  });
  // Unclosed at the end: reasoning. No tags: all answer, "<" held only until decided.
  assertEquals(split(["Done. <think>still"]), { answer: "Done. ", reasoning: "still", lone: 0 });
  assertEquals(split(["a < b", " and <b>bold</b>", " <"]), {
    answer: "a < b and <b>bold</b> <",
    reasoning: "",
    lone: 0,
  });
  // After a block, a later "</think>" is answer text (only the first tag can be a lone close).
  assertEquals(split(["<think>x</think>y ", "</think> z"]).answer, "y </think> z");
});

Deno.test("<think> text streams as reasoning events; the text and both exports never hold it", async () => {
  const reply = "<think>The user wants a colour. Blue scatters most.</think>The sky is blue.";
  const h = await harness({ fake: { reply, tokenDelayMs: 1 } });
  try {
    const { json } = await h.post({ query: "Why is the sky blue?", mode: "quick" });
    const id = json.id as string;
    const { events } = await readSse(`${h.url}/api/research/${id}/events`);
    const run = await h.waitRun(id);
    assertEquals(run.status, "completed");
    assertEquals(run.text, "The sky is blue.");
    const reasoning = events.filter((e) => e.event === "reasoning");
    assertEquals(
      reasoning.map((e) => e.data.text).join(""),
      "The user wants a colour. Blue scatters most.",
    );
    assert(reasoning.every((e) => e.data.phase === "answer" && Number(e.data.tokens) >= 0));
    assert(reasoning.reduce((a, e) => a + Number(e.data.tokens), 0) > 3, "tokens counted");
    const deltas = events.filter((e) => e.event === "delta").map((e) => e.data.text).join("");
    assertEquals(deltas, "The sky is blue.");
    // The first token (the reasoning's) is announced with the measured time, before any delta.
    const first = events.findIndex((e) => e.event === "first_token");
    assert(first >= 0 && first < events.findIndex((e) => e.event === "reasoning"));
    assert(Number(events[first].data.ttftMs) >= 0);

    const md = await (await fetch(`${h.url}/api/research/${id}/export.md`)).text();
    assertStringIncludes(md, "The sky is blue.");
    assert(!md.includes("scatters most") && !md.includes("think>"), md);
    const exported = await (await fetch(`${h.url}/api/research/${id}/export.json`)).json();
    assertEquals(exported.report, "The sky is blue.");
    assert(!JSON.stringify(exported).includes("scatters most"));
    // A reload replays the stored log: the reasoning is still there.
    const again = await readSse(`${h.url}/api/research/${id}/events`);
    assertEquals(
      again.events.filter((e) => e.event === "reasoning").map((e) => e.data.text).join(""),
      "The user wants a colour. Blue scatters most.",
    );
  } finally {
    await h.close();
  }
});

Deno.test("a template-opened think block is taken back out of the text when </think> arrives", async () => {
  const reply = "Thinking about tides.</think>Tides come from the Moon.";
  const h = await harness({ fake: { reply, tokenDelayMs: 1 } });
  try {
    const { json } = await h.post({ query: "Tides?", mode: "quick" });
    const id = json.id as string;
    const { events } = await readSse(`${h.url}/api/research/${id}/events`);
    const run = await h.waitRun(id);
    assertEquals(run.text, "Tides come from the Moon.");
    const reasoning = events.filter((e) => e.event === "reasoning").map((e) => e.data.text);
    assertEquals(reasoning.join(""), "Thinking about tides.");
    // The view folds the same events: the cut is a `text` truncate back to the call's start.
    const cut = events.find((e) => e.event === "text" && e.data.op === "truncate");
    assertEquals(cut?.data.length, 0);
  } finally {
    await h.close();
  }
});

Deno.test("a provider's reasoning_content streams as reasoning events, one token per chunk", async () => {
  const h = await harness({
    fake: {
      reply: "Four.",
      reasoning: "two plus two is four",
      reasoningField: "reasoning_content",
      tokenDelayMs: 1,
    },
  });
  try {
    const { json } = await h.post({ query: "2+2?", mode: "quick" });
    const id = json.id as string;
    const { events } = await readSse(`${h.url}/api/research/${id}/events`);
    const run = await h.waitRun(id);
    assertEquals(run.text, "Four.");
    const reasoning = events.filter((e) => e.event === "reasoning");
    assertEquals(reasoning.map((e) => e.data.text).join(""), "two plus two is four");
    const chunks = tokenize("two plus two is four").length;
    assertEquals(reasoning.length, chunks);
    assertEquals(reasoning.reduce((a, e) => a + Number(e.data.tokens), 0), chunks);
  } finally {
    await h.close();
  }
});
