/**
 * Error statuses from LM Studio, with the bodies the transcripts record: 401 (token required),
 * 404 "No models loaded", 429 with retry-after, 400 context overflow and 500. Each becomes the
 * typed error of docs/providers.md, "Errors" on a research run (status `failed`, fallback report) and on /v1 (the
 * OpenAI error format with the hint in the message), and the service serves on afterwards.
 */
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { DEFAULT_MODELS, type FakeModel } from "../fakes/lmstudio.ts";
import {
  assertFailedRun,
  assertGatewayError,
  assertStillServing,
  assertTyped,
  healFake,
  MODEL,
  runMeetingFault,
  startRig,
} from "./support.ts";

const HELLO = [{ role: "user", content: "Say hello." }];
const TOKEN = "sk-lm-fault:test-token";

Deno.test("401: LM Studio wants a token: the run and /v1 say where to create and set it", async () => {
  const rig = await startRig({ fake: { apiToken: TOKEN } });
  try {
    const hint = ["Manage Tokens", "llm.lmstudio.api_key"];
    // No key set: refused before anything starts.
    const refused = await rig.api("POST", "/api/research", { query: "Let me in" });
    assertEquals(refused.status, 502);
    assertTyped((refused.json.error as Record<string, unknown>).upstream as never, {
      kind: "authentication",
      title: "Authentication Error",
      url: `${rig.lm.url}/`,
      message: ["requires an API key and none is set", "(HTTP 401)"],
      hint,
    });

    const res = await rig.chat({ messages: HELLO, model: MODEL });
    await assertGatewayError(res, {
      status: 401,
      code: "invalid_api_key",
      url: `${rig.lm.url}/v1/chat/completions`,
      parts: ["requires an API key", ...hint],
    });

    // The fix the hint names works: set the key, and everything runs again.
    await assertStillServing(rig, () => rig.setSettings({ "llm.lmstudio.api_key": TOKEN }));

    // The token is revoked in LM Studio while a run waits in the queue: it fails typed.
    const id = await runMeetingFault(rig, () => rig.lm.set({ apiToken: "sk-lm-new:token" }));
    const { run } = await assertFailedRun(rig, id, {
      kind: "authentication",
      title: "Authentication Error",
      url: `${rig.lm.url}/`,
      message: ["refused the API key", "(HTTP 401)"],
      hint,
      partial: "",
    });
    assert(!run.text.includes(TOKEN) && !JSON.stringify(run).includes(TOKEN), "key never shown");
  } finally {
    await rig.close();
  }
});

Deno.test("404 'No models loaded': model_not_found with the load-a-model hint", async () => {
  const unloaded = (structuredClone(DEFAULT_MODELS) as FakeModel[]).map((m) => ({
    ...m,
    loaded_instances: [],
  }));
  const rig = await startRig({ fake: { models: unloaded, jit: false } });
  try {
    const chatUrl = `${rig.lm.url}/v1/chat/completions`;
    const hint = ["Load a model in LM Studio", "lms load"];
    // JIT off and the named model not loaded: refused up front with "load it first" and the
    // Load action, instead of a run that fails on LM Studio's 404.
    const named = await rig.api("POST", "/api/research", { query: "Hello?", model: MODEL });
    assertEquals(named.status, 400);
    const namedError = named.json.error as Record<string, unknown>;
    assertStringIncludes(String(namedError.message), "load it first");
    assertEquals((namedError.action as Record<string, unknown>).type, "load");
    assertEquals(rig.lm.chatRequests().length, 0);

    // No model named: refused up front with what to do (400, nothing started).
    const refused = await rig.api("POST", "/api/research", { query: "Anyone loaded?" });
    assertEquals(refused.status, 400);
    assertStringIncludes(
      String((refused.json.error as Record<string, unknown>).message),
      "no chat model loaded",
    );

    const res = await rig.chat({ messages: HELLO, model: MODEL, stream: true });
    await assertGatewayError(res, {
      status: 404,
      code: "model_not_found",
      url: chatUrl,
      parts: ["No models loaded", ...hint],
    });

    await assertStillServing(
      rig,
      () => rig.lm.set({ models: structuredClone(DEFAULT_MODELS) as FakeModel[] }),
    );
  } finally {
    await rig.close();
  }
});

Deno.test("429 with retry-after: rate_limit with the wait surfaced as retryAfter and in the hint", async () => {
  const rig = await startRig({ fake: { fault: { kind: "rate-limit", retryAfter: 7 } } });
  try {
    const chatUrl = `${rig.lm.url}/v1/chat/completions`;
    const id = await rig.startRun();
    const { error } = await assertFailedRun(rig, id, {
      kind: "rate_limit",
      title: "API Rate Limit Reached",
      url: chatUrl,
      message: ["rate-limiting", "(HTTP 429)"],
      hint: ["Wait 7 s", "retry-after"],
      partial: "",
    });
    assertEquals(error.retryAfter, 7);
    assertEquals(error.status, 429);

    const res = await rig.chat({ messages: HELLO, stream: true });
    const { headers } = await assertGatewayError(res, {
      status: 429,
      code: "rate_limit_exceeded",
      url: chatUrl,
      parts: ["Wait 7 s"],
    });
    assertEquals(headers.get("retry-after"), "7");

    await assertStillServing(rig, () => healFake(rig.lm));
  } finally {
    await rig.close();
  }
});

Deno.test("400 context overflow: token_limit with prompt and context sizes and the fix", async () => {
  const rig = await startRig({
    fake: {
      fault: { kind: "context-overflow", promptTokens: 111490, contextLength: 32768 },
    },
  });
  try {
    const chatUrl = `${rig.lm.url}/v1/chat/completions`;
    const hint = ["larger context length", "shorten the input"];
    const id = await rig.startRun();
    const { error } = await assertFailedRun(rig, id, {
      kind: "token_limit",
      title: "Token Limit Exceeded",
      url: chatUrl,
      message: ["prompt ≈ 111490 tokens vs loaded context 32768"],
      hint,
      partial: "",
    });
    assertEquals(error.promptTokens, 111490);
    assertEquals(error.contextLength, 32768);

    // llama.cpp's wording, through /v1.
    rig.lm.set({
      fault: { kind: "context-overflow", text: "n-keep", promptTokens: 15028, contextLength: 7424 },
    });
    const res = await rig.chat({ messages: HELLO, stream: true });
    await assertGatewayError(res, {
      status: 400,
      code: "context_length_exceeded",
      url: chatUrl,
      parts: ["prompt ≈ 15028 tokens vs loaded context 7424", ...hint],
    });

    await assertStillServing(rig, () => healFake(rig.lm));
  } finally {
    await rig.close();
  }
});

Deno.test("500: server_error quoting the server's message, with a check-the-log hint", async () => {
  const rig = await startRig({
    fake: { fault: { kind: "server-error", message: "llama_decode failed: out of memory" } },
  });
  try {
    const chatUrl = `${rig.lm.url}/v1/chat/completions`;
    const id = await rig.startRun();
    await assertFailedRun(rig, id, {
      kind: "server_error",
      title: "Server Error",
      url: chatUrl,
      message: ["(HTTP 500)", "llama_decode failed: out of memory"],
      hint: ["check its log"],
      partial: "",
    });

    const res = await rig.chat({ messages: HELLO });
    await assertGatewayError(res, {
      status: 500,
      code: null,
      url: chatUrl,
      parts: ["llama_decode failed: out of memory", "check its log"],
    });

    await assertStillServing(rig, () => healFake(rig.lm));
  } finally {
    await rig.close();
  }
});
