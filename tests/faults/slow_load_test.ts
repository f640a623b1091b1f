/**
 * LM Studio loading a model just in time: 30 s before the first byte, with the default 120 s
 * timeout. Nothing may time out early, and the browser's event stream must not go quiet: SSE
 * heartbeat comments and "waiting" progress events fill the silence. (The heartbeat interval is
 * shortened to 1 s through the app config so a 30 s wait shows many of them.) The /v1 gateway is
 * called at the same time and must also wait the load out.
 */
import { assert, assertEquals, assertLessOrEqual, assertStringIncludes } from "../assert.ts";
import { DEFAULT_MODELS, type FakeModel } from "../fakes/lmstudio.ts";
import { REPLY, startRig } from "./support.ts";

const LOAD_MS = 30_000;
const JIT_MODEL = "google/gemma-4-26b-a4b";

interface Timed {
  at: number;
  kind: "comment" | "event";
  event?: string;
  data?: Record<string, unknown>;
  comment?: string;
}

/** Reads a run's SSE stream to its end, timestamping every frame as it arrives. */
async function readTimed(url: string): Promise<Timed[]> {
  const res = await fetch(url, { headers: { accept: "text/event-stream" } });
  const out: Timed[] = [];
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return out;
    buf += value;
    let i;
    while ((i = buf.indexOf("\n\n")) >= 0) {
      const frame = buf.slice(0, i);
      buf = buf.slice(i + 2);
      const at = performance.now();
      if (frame.startsWith(":")) {
        out.push({ at, kind: "comment", comment: frame.slice(1).trim() });
        continue;
      }
      const t: Timed = { at, kind: "event" };
      for (const line of frame.split("\n")) {
        if (line.startsWith("event: ")) t.event = line.slice(7);
        else if (line.startsWith("data: ")) t.data = JSON.parse(line.slice(6));
      }
      out.push(t);
    }
  }
}

Deno.test("a 30 s model load: heartbeats and progress keep the stream alive, nothing times out", async () => {
  // Nothing loaded; JIT on: asking for gemma loads it, 30 s before any header or byte.
  const models = (structuredClone(DEFAULT_MODELS) as FakeModel[]).map((m) => ({
    ...m,
    loaded_instances: [],
  }));
  const rig = await startRig({
    fake: { models, jit: true, jitLoadMs: LOAD_MS },
    config: { sseHeartbeatMs: 1000 },
  });
  try {
    const settings = await rig.api("GET", "/api/settings");
    const timeout = (settings.json.settings as Record<string, { value: unknown }>)[
      "llm.request_timeout"
    ];
    assertEquals(timeout.value, 120, "the default idle timeout applies");
    const id = await rig.startRun({ model: JIT_MODEL });
    const started = performance.now();
    const [frames, gateway] = await Promise.all([
      readTimed(`${rig.url}/api/research/${id}/events`),
      (async () => {
        const res = await rig.chat({
          model: JIT_MODEL,
          messages: [{ role: "user", content: "Hi" }],
        });
        return { status: res.status, body: await res.json(), at: performance.now() };
      })(),
    ]);

    const run = await rig.waitRun(id);
    assertEquals(run.status, "completed", `${run.status}: ${run.text}`);
    assertEquals(run.text, REPLY);
    assertEquals(run.error, null);
    assertEquals(gateway.status, 200, JSON.stringify(gateway.body));
    assertEquals(gateway.body.choices[0].message.content, REPLY);

    // It really waited through the load (a sanity bound, not a speed assertion).
    const firstDelta = frames.find((f) => f.event === "delta");
    assert(firstDelta, "the answer streamed");
    const silence = firstDelta.at - started;
    assert(silence >= LOAD_MS - 1000, `waited ${Math.round(silence)} ms for the first token`);
    assert(gateway.at - started >= LOAD_MS - 1000, "the /v1 call waited for the load too");

    // During the silence, the browser kept hearing from deepstudio.
    const during = frames.filter((f) => f.at < firstDelta.at);
    const heartbeats = during.filter((f) => f.comment === "heartbeat");
    const waiting = during.filter((f) => f.event === "progress" && f.data?.waiting === true);
    assert(heartbeats.length >= 10, `heartbeats during the load: ${heartbeats.length}`);
    assert(waiting.length >= 10, `waiting progress events during the load: ${waiting.length}`);
    // The model is listed but not loaded, so the wait is named: LM Studio is loading it (JIT).
    assertStringIncludes(
      String(waiting.at(-1)!.data!.message),
      `Loading ${JIT_MODEL} in LM Studio`,
    );
    // No gap without a byte anywhere near a proxy's or browser's idle limit.
    let gap = 0;
    for (let i = 1; i < during.length; i++) gap = Math.max(gap, during[i].at - during[i - 1].at);
    assertLessOrEqual(gap, 5000, `longest silence on the event stream: ${Math.round(gap)} ms`);
    console.log(
      `30 s load: first token after ${
        Math.round(silence)
      } ms; ${heartbeats.length} heartbeats, ${waiting.length} waiting events; longest silence ${
        Math.round(gap)
      } ms`,
    );

    // One chat request per caller, none aborted: no early timeout, no retry.
    const chats = rig.lm.chatRequests();
    assertEquals(chats.length, 2);
    assertEquals(chats.filter((r) => r.aborted).length, 0);
  } finally {
    await rig.close();
  }
});
