import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { harness, readSse, words } from "./support.ts";

Deno.test("a reader that reconnects with Last-Event-ID gets exactly the events it missed", async () => {
  const h = await harness({ fake: { reply: words(80), tokenDelayMs: 5 } });
  try {
    const { json } = await h.post({ query: "Count for me", mode: "quick" });
    const id = json.id as string;
    const url = `${h.url}/api/research/${id}/events`;
    // First reader leaves after a handful of deltas (the run goes on without it).
    const first = await readSse(url, {
      until: (ev) => ev.filter((e) => e.event === "delta").length >= 10,
    });
    assert(!first.ended);
    const lastId = first.events.at(-1)!.id;
    // Let the run produce events nobody is watching, then come back.
    await h.waitRun(id, (_, text) => text.split(" ").length >= 40);
    const second = await readSse(url, { lastEventId: lastId });
    assert(second.ended, "the resumed stream ends with done");
    // A third reader after the end replays everything from KV.
    const full = await readSse(url);
    assertEquals(full.events.map((e) => e.id), full.events.map((_, i) => i + 1));
    assertEquals(second.events, full.events.filter((e) => e.id > lastId));
    assertEquals([...first.events, ...second.events], full.events);
    const text = full.events.filter((e) => e.event === "delta").map((e) => e.data.text).join("");
    assertEquals(text, words(80));
    assertEquals(full.events.at(-1)!.data, { status: "completed" });
    // The disconnect did not touch the upstream request.
    assertEquals(h.lm.aborts.length, 0);
  } finally {
    await h.close();
  }
});

Deno.test("two readers joining at different times see the same events", async () => {
  const h = await harness({ fake: { reply: words(40), tokenDelayMs: 3 } });
  try {
    const { json } = await h.post({ query: "Two readers", mode: "quick" });
    const url = `${h.url}/api/research/${json.id}/events`;
    const early = readSse(url);
    await h.waitRun(json.id as string, (_, text) => text.length > 30);
    const late = readSse(url);
    const [a, b] = await Promise.all([early, late]);
    assertEquals(a.events, b.events);
    assertEquals(a.events.at(-1)!.event, "done");
  } finally {
    await h.close();
  }
});

Deno.test("cancel aborts the upstream request at once and keeps the partial text", async () => {
  const h = await harness({ fake: { reply: words(400), tokenDelayMs: 20 } });
  try {
    const { json } = await h.post({ query: "Long answer please", mode: "quick" });
    const id = json.id as string;
    await h.waitRun(id, (_, text) => text.split(" ").length >= 5);
    const res = await fetch(`${h.url}/api/research/${id}/cancel`, { method: "POST" });
    const body = await res.json();
    assertEquals(res.status, 200);
    assertEquals(body.status, "cancelled");
    const aborted = await h.lm.waitForAbort(undefined, 5000);
    assertEquals(aborted.path, "/v1/chat/completions");
    assertEquals(aborted.abortedPhase, "streaming");
    const run = await h.waitRun(id);
    assertEquals(run.status, "cancelled");
    assert(run.text.length > 0, "partial text kept");
    assert(words(400).startsWith(run.text), "kept text is a prefix of the reply");
    assert(run.text.length < words(400).length, "it stopped early");
    // The event log ends with the cancellation and the text in it matches the kept text.
    const { events } = await readSse(`${h.url}/api/research/${id}/events`);
    assertEquals(events.at(-1)!.data, { status: "cancelled" });
    assertEquals(
      events.filter((e) => e.event === "delta").map((e) => e.data.text).join(""),
      run.text,
    );
    // Cancelling again is a conflict, not a crash.
    const again = await fetch(`${h.url}/api/research/${id}/cancel`, { method: "POST" });
    assertEquals(again.status, 409);
    assertEquals((await again.json()).error.kind, "conflict");
  } finally {
    await h.close();
  }
});

// Before-headers aborts are covered by tests/providers/stream_test.ts: Deno.serve (the fake's
// server) does not fire request.signal for a client that leaves before the response headers once
// the request body is larger than a few hundred bytes, and research prompts are.
Deno.test("cancel while LM Studio processes the prompt aborts the upstream before any token", async () => {
  const h = await harness({ fake: { reply: "never", promptDelayMs: 60_000 } });
  try {
    const { json } = await h.post({ query: "Slow prompt", mode: "quick" });
    const id = json.id as string;
    // The provider reports `waiting` in the prompt phase once headers came but no token did.
    await readSse(`${h.url}/api/research/${id}/events`, {
      until: (ev) => ev.some((e) => String(e.data.message).includes("processing the prompt")),
    });
    const res = await fetch(`${h.url}/api/research/${id}/cancel`, { method: "POST" });
    assertEquals((await res.json()).status, "cancelled");
    const aborted = await h.lm.waitForAbort(undefined, 5000);
    assertEquals(aborted.abortedPhase, "streaming");
    const run = await h.waitRun(id);
    assertEquals(run.status, "cancelled");
    assertEquals(run.text, "");
  } finally {
    await h.close();
  }
});

Deno.test("an upstream hang hits the idle timeout and the run fails with a fallback report", async () => {
  const h = await harness({
    fake: { reply: words(50), fault: { kind: "hang", afterTokens: 4 } },
    env: { LDR_LLM_REQUEST_TIMEOUT: "1" },
  });
  try {
    const { json } = await h.post({ query: "Hang please", mode: "quick" });
    const id = json.id as string;
    const run = await h.waitRun(id);
    assertEquals(run.status, "failed");
    assertEquals(run.error?.kind, "timeout");
    // Never empty: the partial text, then the error report.
    assert(run.text.startsWith("w0 w1 w2 w3"), run.text);
    assertStringIncludes(run.text, "LLM Timeout Error");
    assertStringIncludes(run.text, "`timeout`");
    assertStringIncludes(run.text, "What to do");
    assertStringIncludes(run.text, "llm.request_timeout");
    const { events } = await readSse(`${h.url}/api/research/${id}/events`);
    const error = events.find((e) => e.event === "error")!;
    assertEquals(error.data.kind, "timeout");
    assertEquals(error.data.fatal, true);
    assertEquals(events.at(-1)!.data, { status: "failed" });
    // The hung request was abandoned, not left open.
    await h.lm.waitForAbort(undefined, 5000);
  } finally {
    await h.close();
  }
});

Deno.test("heartbeat comments and waiting progress fill the silence before the first token", async () => {
  const h = await harness({
    fake: { reply: "finally", headerDelayMs: 2300 },
    config: { sseHeartbeatMs: 100 },
  });
  try {
    const { json } = await h.post({ query: "Slow start", mode: "quick" });
    const { events, comments } = await readSse(`${h.url}/api/research/${json.id}/events`);
    assert(comments.filter((c) => c === "heartbeat").length >= 3, `comments: ${comments}`);
    const waiting = events.find((e) => e.event === "progress" && e.data.waiting);
    assert(waiting, "a waiting progress event");
    assertStringIncludes(String(waiting.data.message), "Waiting for LM Studio");
    assertStringIncludes(String(waiting.data.message), " s");
    assertEquals(events.at(-1)!.data, { status: "completed" });
  } finally {
    await h.close();
  }
});
