/**
 * A client that goes away must stop the model: the fake LM Studio records, on its own socket,
 * whether and in which phase deepstudio dropped the upstream request. Lags are printed, not
 * asserted (speed is the benchmark's business); the sanity bound is far above any real lag.
 */
import { assert, assertEquals, assertLessOrEqual } from "../assert.ts";
import type { FakeLmStudioOptions } from "../fakes/lmstudio.ts";
import type { RecordedRequest } from "../fakes/recorder.ts";
import { HELLO, startRig } from "./setup.ts";

const MODEL = "qwen2.5-7b-instruct";
const LONG_REPLY = Array.from({ length: 200 }, (_, i) => `word${i}`).join(" ");
const SANITY_MS = 2000;

const isChat = (r: RecordedRequest) => r.path === "/v1/chat/completions";

async function disconnectTest(
  fake: FakeLmStudioOptions,
  stream: boolean,
  /** Resolves once the phase to interrupt has been reached. */
  reach: (res: Promise<Response>, rig: Awaited<ReturnType<typeof startRig>>) => Promise<void>,
): Promise<RecordedRequest> {
  const rig = await startRig({ fake });
  try {
    const ac = new AbortController();
    const res = rig.post("/v1/chat/completions", { model: MODEL, messages: HELLO, stream }, {
      signal: ac.signal,
    });
    res.catch(() => {});
    await reach(res, rig);
    const at = performance.now();
    ac.abort();
    const aborted = await rig.lm.waitForAbort(isChat, 3000);
    const lag = aborted.abortedAt! - at;
    console.log(`  upstream closed ${lag.toFixed(2)} ms after the client left`);
    assertLessOrEqual(lag, SANITY_MS);
    assertEquals(rig.lm.chatRequests().length, 1);
    return aborted;
  } finally {
    await rig.close();
  }
}

const requestSeen = async (_: Promise<Response>, rig: Awaited<ReturnType<typeof startRig>>) => {
  await rig.lm.waitForRequest(isChat);
};

Deno.test("a stream dropped before the upstream's headers (model loading) aborts upstream", async () => {
  const r = await disconnectTest({ headerDelayMs: 10_000 }, true, requestSeen);
  assertEquals(r.abortedPhase, "before-headers");
});

Deno.test("a stream dropped during prompt processing (headers sent, no token yet) aborts upstream", async () => {
  const r = await disconnectTest({ promptDelayMs: 10_000 }, true, async (res) => {
    const response = await res;
    assertEquals(response.status, 200, "the headers were relayed before the first token");
  });
  assertEquals(r.abortedPhase, "streaming");
});

Deno.test("a stream dropped mid-stream aborts upstream", async () => {
  const r = await disconnectTest(
    { tokenDelayMs: 50, reply: LONG_REPLY },
    true,
    async (res) => {
      const reader = (await res).body!.getReader();
      for (let i = 0; i < 3; i++) await reader.read();
    },
  );
  assertEquals(r.abortedPhase, "streaming");
});

Deno.test("a non-streamed request dropped while the model loads aborts upstream", async () => {
  const r = await disconnectTest({ headerDelayMs: 10_000 }, false, requestSeen);
  assertEquals(r.abortedPhase, "before-headers");
});

Deno.test("a non-streamed request dropped during generation aborts upstream", async () => {
  // The fake's non-stream answer waits `promptDelayMs` after reading the request (generating).
  const r = await disconnectTest({ promptDelayMs: 10_000 }, false, requestSeen);
  assertEquals(r.abortedPhase, "before-headers");
});

Deno.test("the openai client's abort mid-stream reaches the upstream", async () => {
  const rig = await startRig({ fake: { tokenDelayMs: 50, reply: LONG_REPLY } });
  try {
    const stream = await rig.client.chat.completions.create({
      model: MODEL,
      messages: HELLO,
      stream: true,
    });
    let n = 0;
    for await (const _ of stream) {
      if (++n === 3) break; // breaking out of the loop aborts the SDK's request
    }
    const aborted = await rig.lm.waitForAbort(isChat, 3000);
    assertEquals(aborted.abortedPhase, "streaming");
  } finally {
    await rig.close();
  }
});

Deno.test("a client gone while the model is being chosen never starts an upstream completion", async () => {
  const rig = await startRig({ fake: { modelsDelayMs: 300 } });
  try {
    const ac = new AbortController();
    const res = rig.post("/v1/chat/completions", { messages: HELLO, stream: true }, {
      signal: ac.signal,
    });
    res.catch(() => {});
    await rig.lm.waitForRequest((r) => r.path.endsWith("/models"));
    ac.abort();
    // Let the model list arrive and anything that would follow it happen.
    await new Promise((r) => setTimeout(r, 600));
    assertEquals(rig.lm.chatRequests().length, 0);
    assert(rig.lm.requests.length > 0);
  } finally {
    await rig.close();
  }
});
