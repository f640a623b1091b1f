/**
 * One producer of the text layout: everything a run's text contains (headings, notes, the error
 * report, the final order) reaches readers as events, so applying the events in order gives the
 * stored text exactly, for a completed run and for a failed one, while it runs and afterwards.
 */
import { assertEquals, assertStringIncludes } from "../assert.ts";
import { foldEvents, harness, readSse } from "./support.ts";

const PLAN = "1. What is alpha?\n2. How does beta work?\n3. Why gamma?";

Deno.test("a completed detailed run: its events rebuild the stored text, report first", async () => {
  const h = await harness({ fake: { reply: PLAN } });
  try {
    const id = (await h.post({ query: "alpha beta gamma", mode: "detailed" })).json.id as string;
    const { events } = await readSse(`${h.url}/api/research/${id}/events`);
    const run = await h.waitRun(id);
    assertEquals(run.status, "completed");
    assertEquals(foldEvents(events), run.text);
    assertStringIncludes(run.text, "---\n\n## Research notes\n\n### 1. What is alpha?");
  } finally {
    await h.close();
  }
});

Deno.test("a failed detailed run streams its step notes and error report as events, live", async () => {
  const h = await harness({ fake: { reply: PLAN, headerDelayMs: 200 } });
  try {
    const second = h.lm.waitForRequest(
      (r) => r.path === "/v1/chat/completions" && h.lm.chatRequests().indexOf(r) === 1,
      10_000,
    );
    const id = (await h.post({ query: "all fail", mode: "detailed" })).json.id as string;
    // A reader connected from the start, while the run is still going.
    const reading = readSse(`${h.url}/api/research/${id}/events`);
    await second;
    h.lm.set({ fault: { kind: "server-error", message: "out of memory" } });
    const { events } = await reading;
    const run = await h.waitRun(id);
    assertEquals(run.status, "failed");
    const live = foldEvents(events);
    assertEquals(live, run.text, "the live reader has what a reload would show");
    assertStringIncludes(live, "## Research notes");
    assertStringIncludes(live, "> ⚠ **Server Error** (`server_error`)");
    assertStringIncludes(live, "## ⚠ Server Error");
    const texts = events.filter((e) => e.event === "text").map((e) => e.data.text as string);
    assertEquals(
      texts.some((t) => t.includes("## ⚠ Server Error")),
      true,
      "the report is an event",
    );
  } finally {
    await h.close();
  }
});
