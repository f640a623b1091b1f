/**
 * Follow-up runs at the API: the earlier question and report reach the model in every prompt,
 * the new run records what it followed, an unknown or unfinished run is refused in the error
 * shape, and a long report is capped to what the context can take.
 */
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { capFollowUp, FOLLOW_UP_MAX_CHARS, withFollowUp } from "../../lib/research/follow_up.ts";
import { harness } from "./support.ts";

Deno.test("a follow-up carries the earlier report; unknown or running runs are refused", async () => {
  const h = await harness({ fake: { reply: "Nitrogen, about 78 %.", tokenDelayMs: 1 } });
  try {
    const first = await h.post({ query: "Most common gas in air?" });
    assertEquals(first.status, 202);
    await h.waitRun(String(first.json.id));

    h.lm.set({ reply: "Oxygen.", tokenDelayMs: 200 });
    const next = await h.post({ query: "And the second?", followUp: first.json.id });
    assertEquals(next.status, 202, JSON.stringify(next.json));
    // While the follow-up runs, a follow-up of it is refused (its report is not written yet).
    const early = await h.post({ query: "And the third?", followUp: next.json.id });
    assertEquals(early.status, 409, JSON.stringify(early.json));
    const run = await h.waitRun(String(next.json.id));
    assertEquals(run.followUp?.id, first.json.id);
    assertEquals(run.followUp?.query, "Most common gas in air?");
    const sent = JSON.stringify(h.lm.chatRequests().at(-1)!.body);
    assertStringIncludes(sent, "Nitrogen, about 78 %.");
    assertStringIncludes(sent, "And the second?");

    const missing = await h.post({ query: "x", followUp: "no-such-run" });
    assertEquals(missing.status, 400);
    const err = missing.json.error as { kind: string; message: string };
    assertEquals(err.kind, "validation");
    assertStringIncludes(err.message, "No research run no-such-run");
  } finally {
    await h.close();
  }
});

Deno.test("the carried report is capped by the context window and placed before the question", () => {
  const prev = { id: "a", query: "Q", report: "x".repeat(50_000) };
  assertEquals(capFollowUp(prev, 4096).report.length < 4200, true);
  assert(capFollowUp(prev, 1_000_000).report.length <= FOLLOW_UP_MAX_CHARS + 40);
  const short = { id: "a", query: "Q", report: "short" };
  assertEquals(capFollowUp(short, 4096), short);
  const msgs = withFollowUp([{ role: "system", content: "S" }, { role: "user", content: "U" }], {
    query: "Q0",
    report: "R0",
  });
  assertEquals(msgs[0].content, "S");
  assert(msgs[1].content.endsWith("U") && msgs[1].content.includes("R0"));
});
