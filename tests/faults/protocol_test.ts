/**
 * Answers that arrive but are broken: a malformed SSE frame mid-stream, a JSON body cut in half,
 * and LM Studio's 200 with an error body (a base URL with a stray path). Status 200 proves
 * nothing (docs/providers.md, "Availability"): each must become a typed error, never an empty or silently cut success.
 */
import OpenAI from "openai";
import { startFaultProxy } from "./fault_proxy.ts";
import { assert, assertEquals, assertRejects, assertStringIncludes } from "../assert.ts";
import {
  assertFailedRun,
  assertGatewayError,
  assertStillServing,
  assertTyped,
  healFake,
  openAiEvents,
  replyPrefix,
  startRig,
  streamedContent,
} from "./support.ts";

const HELLO = [{ role: "user", content: "Say hello." }];
const MODEL = "qwen2.5-7b-instruct";

Deno.test("malformed SSE frame mid-stream: the run keeps the text before it and fails typed", async () => {
  const rig = await startRig({ fake: { fault: { kind: "malformed-frame", afterTokens: 3 } } });
  try {
    const chatUrl = `${rig.lm.url}/v1/chat/completions`;
    const id = await rig.startRun();
    await assertFailedRun(rig, id, {
      kind: "server_error",
      title: "Server Error",
      url: chatUrl,
      message: ["malformed response"],
      hint: ["cut or garbled", "retry"],
      partial: replyPrefix(3),
    });

    // /v1 relays upstream bytes untouched (lib/gateway/relay.ts): the client gets the three
    // tokens and the broken frame, no [DONE], and then an OpenAI-shaped error event saying the
    // stream was cut or malformed (lib/gateway/stream_guard.ts), so no client takes it as whole.
    const res = await rig.chat({ messages: HELLO, stream: true });
    assertEquals(res.status, 200);
    const events = openAiEvents(await res.text());
    assertEquals(streamedContent(events), replyPrefix(3));
    assert(!events.includes("[DONE]"), "no [DONE]");
    assert(typeof events.at(-2) === "string", "the malformed frame is relayed as it came");
    const last = events.at(-1) as { error?: { type?: string; message?: string } };
    assertEquals(last.error?.type, "server_error");
    assert(last.error?.message?.includes("the server's stream was cut or malformed"));
    // The official client raises instead of returning a short answer as if it were whole.
    const client = new OpenAI({ baseURL: `${rig.url}/v1`, apiKey: "x", maxRetries: 0 });
    let got = "";
    await assertRejects(async () => {
      const stream = await client.chat.completions.create({
        model: MODEL,
        messages: [{ role: "user", content: "Say hello." }],
        stream: true,
      });
      for await (const chunk of stream) got += chunk.choices[0]?.delta?.content ?? "";
    });
    assertEquals(got, replyPrefix(3));

    await assertStillServing(rig, () => healFake(rig.lm));
  } finally {
    await rig.close();
  }
});

Deno.test("truncated JSON (non-stream): a typed malformed-response error, on runs and on /v1", async () => {
  const rig = await startRig({
    fake: { fault: { kind: "truncated-json" } },
    settings: { "llm.streaming": false },
  });
  try {
    const chatUrl = `${rig.lm.url}/v1/chat/completions`;
    const id = await rig.startRun();
    await assertFailedRun(rig, id, {
      kind: "server_error",
      title: "Server Error",
      url: chatUrl,
      message: ["malformed response", "cut short"],
      hint: ["cut or garbled"],
      partial: "",
    });

    const res = await rig.chat({ messages: HELLO, stream: false });
    await assertGatewayError(res, {
      status: 502,
      code: null,
      url: chatUrl,
      parts: ["malformed response", "cut short", "cut or garbled"],
    });

    await assertStillServing(rig, () => healFake(rig.lm));
  } finally {
    await rig.close();
  }
});

Deno.test("200 with an error body (LM Studio's 'Unexpected endpoint'): a wrong-URL error with the fix", async () => {
  const rig = await startRig();
  try {
    // A reverse-proxy prefix that LM Studio does not have: every route answers 200 + error.
    const wrong = `${rig.lm.url}/lmstudio`;
    await rig.setSettings({ "llm.lmstudio.url": wrong });
    const chatUrl = `${wrong}/v1/chat/completions`;
    const expected = {
      kind: "bad_request" as const,
      title: "Request Rejected",
      url: chatUrl,
      message: ["does not know this endpoint", "Unexpected endpoint or method"],
      hint: ["Check the server URL", "deepstudio adds /v1 itself"],
    };
    // With a model named, the run starts and the chat call meets the 200 error body.
    const id = await rig.startRun({ model: MODEL });
    await assertFailedRun(rig, id, { ...expected, partial: "" });

    // Without one, the model list (also 200 + error) stops it before anything starts.
    const refused = await rig.api("POST", "/api/research", { query: "Where are you?" });
    assertEquals(refused.status, 502);
    assertTyped((refused.json.error as Record<string, unknown>).upstream as never, {
      ...expected,
      url: `${wrong}/`,
      message: ["Unexpected endpoint or method"],
    });

    // /v1, non-stream and stream: a 502 naming the URL and the fix, never a 200 to the client.
    for (const stream of [false, true]) {
      const res = await rig.chat({ messages: HELLO, model: MODEL, stream });
      const { message } = await assertGatewayError(res, {
        status: 502,
        code: null,
        url: chatUrl,
        parts: ["Unexpected endpoint or method", "deepstudio adds /v1 itself"],
      });
      assertStringIncludes(message, "(HTTP 200)");
    }

    await assertStillServing(rig, () => rig.setSettings({ "llm.lmstudio.url": rig.lm.url }));
  } finally {
    await rig.close();
  }
});

// A stream whose HTTP body ends cleanly before finish_reason and [DONE] (a close-delimited answer
// cut by a proxy, say) is not a complete answer: lib/providers/stream.ts takes a missing
// finish_reason as the tell.
Deno.test({
  name: "a stream that ends cleanly before finish_reason and [DONE] is not a completed answer",
  async fn() {
    const rig = await startRig();
    const proxy = startFaultProxy(rig.lm.url, { chat: "end", cutAfterEvents: 4 });
    try {
      await rig.setSettings({ "llm.lmstudio.url": proxy.url });
      const id = await rig.startRun();
      const run = await rig.waitRun(id);
      assertEquals(run.status, "failed", `${run.status}: ${run.text}`);
      assert(run.text.startsWith(replyPrefix(3)), run.text);
    } finally {
      await proxy.close();
      await rig.close();
    }
  },
});
