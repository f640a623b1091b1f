import OpenAI from "openai";
import { assert, assertEquals, assertStringIncludes, fail } from "../assert.ts";
import type { FakeLmStudioOptions } from "../fakes/lmstudio.ts";
import { events, HELLO, startRig } from "./setup.ts";

const MODEL = "qwen2.5-7b-instruct";

/** A port nothing listens on (bound, then released). */
function closedPort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

async function expectError(
  fake: FakeLmStudioOptions,
  env: Record<string, string>,
  body: Record<string, unknown>,
): Promise<{ status: number; headers: Headers; error: Record<string, unknown> }> {
  const rig = await startRig({ fake, env });
  try {
    const res = await rig.post("/v1/chat/completions", { model: MODEL, messages: HELLO, ...body });
    const json = await res.json();
    assertEquals(Object.keys(json), ["error"]);
    assertEquals(Object.keys(json.error).sort(), ["code", "message", "param", "type"]);
    return { status: res.status, headers: res.headers, error: json.error };
  } finally {
    await rig.close();
  }
}

Deno.test("LM Studio asking for a token becomes 401 with the hint where to set it", async () => {
  const { status, error } = await expectError({ apiToken: "sk-lm-abc:def" }, {}, {});
  assertEquals(status, 401);
  assertEquals(error.type, "authentication_error");
  assertStringIncludes(String(error.message), "Manage Tokens");
  assertStringIncludes(String(error.message), "llm.lmstudio.api_key");
});

Deno.test("the configured LM Studio token is sent, the client's own key never is", async () => {
  const rig = await startRig({
    fake: { apiToken: "sk-lm-abc:def" },
    env: { LDR_LLM_LMSTUDIO_API_KEY: "sk-lm-abc:def" },
  });
  try {
    const r = await rig.client.chat.completions.create({ model: MODEL, messages: HELLO });
    assertEquals(r.choices[0].message.content, "Hello from the fake LM Studio.");
    const auth = rig.lm.chatRequests()[0].headers.authorization;
    assertEquals(auth, "Bearer sk-lm-abc:def");
  } finally {
    await rig.close();
  }
});

Deno.test("no model loaded becomes 404 model_not_found with LM Studio's hint", async () => {
  const { status, error } = await expectError(
    { models: [], jit: false },
    {},
    {},
  );
  assertEquals(status, 404);
  assertEquals(error.code, "model_not_found");
  assertEquals(error.param, "model");
  assertStringIncludes(String(error.message), "No models loaded");
  assertStringIncludes(String(error.message), "lms load");
});

Deno.test("a context overflow becomes 400 context_length_exceeded with sizes and the fix", async () => {
  for (const stream of [false, true]) {
    const { status, error } = await expectError(
      { fault: { kind: "context-overflow", promptTokens: 9000, contextLength: 4096 } },
      {},
      { stream },
    );
    assertEquals(status, 400);
    assertEquals(error.code, "context_length_exceeded");
    assertStringIncludes(String(error.message), "9000");
    assertStringIncludes(String(error.message), "4096");
    assertStringIncludes(String(error.message), "larger context length");
  }
});

Deno.test("a 429 keeps its status and retry-after", async () => {
  const { status, headers, error } = await expectError(
    { fault: { kind: "rate-limit", retryAfter: 7 } },
    {},
    {},
  );
  assertEquals(status, 429);
  assertEquals(headers.get("retry-after"), "7");
  assertEquals(error.code, "rate_limit_exceeded");
  assertStringIncludes(String(error.message), "Wait 7 s");
});

Deno.test("a 500 keeps its status and the server's message", async () => {
  const { status, error } = await expectError(
    { fault: { kind: "server-error", message: "GPU fell over" } },
    {},
    {},
  );
  assertEquals(status, 500);
  assertEquals(error.type, "server_error");
  assertStringIncludes(String(error.message), "GPU fell over");
});

Deno.test("a refused connection becomes 502 naming the URL and what to start", async () => {
  const url = `http://127.0.0.1:${closedPort()}`;
  for (const stream of [false, true]) {
    const { status, error } = await expectError({}, { LDR_LLM_LMSTUDIO_URL: url }, { stream });
    assertEquals(status, 502);
    assertEquals(error.code, "upstream_unreachable");
    assertStringIncludes(String(error.message), url);
    assertStringIncludes(String(error.message), "Start LM Studio's server");
  }
});

Deno.test("no answer within llm.request_timeout becomes 504 and the upstream request is dropped", async () => {
  const rig = await startRig({
    fake: { headerDelayMs: 10_000 },
    env: { LDR_LLM_REQUEST_TIMEOUT: "1" },
  });
  try {
    const res = await rig.post("/v1/chat/completions", { model: MODEL, messages: HELLO });
    assertEquals(res.status, 504);
    const body = await res.json();
    assertEquals(body.error.code, "upstream_timeout");
    assertStringIncludes(body.error.message, "1 s");
    assertStringIncludes(body.error.message, "llm.request_timeout");
    const aborted = await rig.lm.waitForAbort();
    assertEquals(aborted.abortedPhase, "before-headers");
  } finally {
    await rig.close();
  }
});

Deno.test("the openai client sees the mapped errors as its own error classes", async () => {
  const rig = await startRig({ fake: { fault: { kind: "rate-limit", retryAfter: 3 } } });
  try {
    await rig.client.chat.completions.create({ model: MODEL, messages: HELLO });
    fail("expected a RateLimitError");
  } catch (e) {
    assert(e instanceof OpenAI.RateLimitError, String(e));
    assertEquals(e.status, 429);
    assertEquals((e.error as { code: string }).code, "rate_limit_exceeded");
  } finally {
    await rig.close();
  }
});

Deno.test("an error inside the stream is relayed as the server's error event, without [DONE]", async () => {
  const rig = await startRig({
    fake: { fault: { kind: "error-frame", afterTokens: 2, message: "Model crashed mid-way" } },
  });
  try {
    const res = await rig.post("/v1/chat/completions", {
      model: MODEL,
      messages: HELLO,
      stream: true,
    });
    assertEquals(res.status, 200);
    const list = events(await res.text());
    assertEquals(list.length, 3, "two tokens, error");
    assertEquals(
      list[2],
      'data: {"error":{"message":"Model crashed mid-way","type":"server_error"}}',
    );
    const stream = await rig.client.chat.completions.create({
      model: MODEL,
      messages: HELLO,
      stream: true,
    });
    let text = "";
    try {
      for await (const c of stream) text += c.choices[0]?.delta?.content ?? "";
      fail("expected the stream to fail");
    } catch (e) {
      assert(e instanceof OpenAI.APIError, String(e));
      assertStringIncludes(e.message, "Model crashed mid-way");
    }
    assertEquals(text, "Hello from", "text before the error arrived");
  } finally {
    await rig.close();
  }
});

Deno.test("a connection cut mid-stream ends the stream with an OpenAI error event", async () => {
  const rig = await startRig({ fake: { fault: { kind: "reset", afterTokens: 2 } } });
  try {
    const res = await rig.post("/v1/chat/completions", {
      model: MODEL,
      messages: HELLO,
      stream: true,
    });
    const list = events(await res.text());
    assertEquals(list.length, 3, "two tokens, error");
    const error = JSON.parse(list[2].slice("data: ".length)).error;
    assertEquals(error.code, "upstream_unreachable");
    assertStringIncludes(error.message, "closed mid-response");
    assert(!list.includes("data: [DONE]"));
  } finally {
    await rig.close();
  }
});

Deno.test("a stream that goes silent for llm.request_timeout ends with a timeout event and is dropped upstream", async () => {
  const rig = await startRig({
    fake: { fault: { kind: "hang", afterTokens: 2 } },
    env: { LDR_LLM_REQUEST_TIMEOUT: "1" },
  });
  try {
    const res = await rig.post("/v1/chat/completions", {
      model: MODEL,
      messages: HELLO,
      stream: true,
    });
    const list = events(await res.text());
    const error = JSON.parse(list.at(-1)!.slice("data: ".length)).error;
    assertEquals(error.code, "upstream_timeout");
    const aborted = await rig.lm.waitForAbort();
    assertEquals(aborted.abortedPhase, "streaming");
  } finally {
    await rig.close();
  }
});

Deno.test("a slow but steady stream is never cut by the idle timeout", async () => {
  const rig = await startRig({
    fake: { tokenDelayMs: 300, reply: "one two three four five six" },
    env: { LDR_LLM_REQUEST_TIMEOUT: "1" },
  });
  try {
    const res = await rig.post("/v1/chat/completions", {
      model: MODEL,
      messages: HELLO,
      stream: true,
    });
    const text = await res.text();
    assert(text.endsWith("data: [DONE]\n\n"), text.slice(-200));
    assertEquals(rig.lm.aborts.length, 0);
  } finally {
    await rig.close();
  }
});

Deno.test("a non-streamed answer cut mid-JSON becomes 502 instead of broken JSON", async () => {
  const { status, error } = await expectError({ fault: { kind: "truncated-json" } }, {}, {});
  assertEquals(status, 502);
  assertEquals(error.type, "server_error");
  assertStringIncludes(String(error.message), "malformed");
});

Deno.test("an error hidden in a 200 (LM Studio's unknown-route answer) becomes 502 with the URL hint", async () => {
  const upstream = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const path = new URL(req.url).pathname;
    if (path === "/v1/models") return Response.json({ object: "list", data: [{ id: "m" }] });
    return Response.json({ error: `Unexpected endpoint or method. (${req.method} ${path})` });
  });
  const url = `http://127.0.0.1:${upstream.addr.port}`;
  try {
    const { status, error } = await expectError(
      {},
      { LDR_LLM_PROVIDER: "openai_endpoint", LDR_LLM_OPENAI_ENDPOINT_URL: url },
      { model: "m" },
    );
    assertEquals(status, 502);
    assertStringIncludes(String(error.message), "Unexpected endpoint");
    assertStringIncludes(String(error.message), "deepstudio adds /v1 itself");
  } finally {
    await upstream.shutdown();
  }
});
