/** The fakes must speak the transcripts' wire format: checked here byte for byte where given. */
import { assert, assertEquals } from "../assert.ts";
import { AUTH_REQUIRED_BODY, startFakeLmStudio } from "../fakes/lmstudio.ts";
import { LM_STUDIO_CHUNK, RECORDED } from "../fixtures/lmstudio_doc.ts";
import { LLAMA_LOADING_BODY, LLAMA_NOT_FOUND_BODY, startFakeLlamaCpp } from "../fakes/llamacpp.ts";

Deno.test("fake LM Studio answers unknown routes and OPTIONS with 200 'Unexpected endpoint'", async () => {
  const lm = await startFakeLmStudio({ nativeV1: false });
  try {
    for (
      const [method, path] of [["GET", "/v1//models"], ["POST", "/chat/completions"], [
        "OPTIONS",
        "/v1/chat/completions",
      ], ["GET", "/api/v1/models"]]
    ) {
      const res = await fetch(`${lm.url}${path}`, { method });
      assertEquals(res.status, 200);
      assertEquals(
        await res.text(),
        `{"error":"Unexpected endpoint or method. (${method} ${path})"}`,
      );
    }
    assertEquals(await (await fetch(`${lm.url}/lmstudio-greeting`)).text(), '{"lmstudio":true}');
  } finally {
    await lm.close();
  }
});

Deno.test("fake LM Studio streams LM Studio's chunk shape, empty final delta, usage only on request, [DONE]", async () => {
  const lm = await startFakeLmStudio({ reply: "a b" });
  try {
    const post = (extra: object) =>
      fetch(`${lm.url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          model: "x",
          stream: true,
          messages: [{ role: "user", content: "hi" }],
          ...extra,
        }),
      }).then((r) => r.text());
    const withUsage = await post({ stream_options: { include_usage: true } });
    const frames = withUsage.split("\n\n").filter(Boolean);
    assert(withUsage.endsWith("data: [DONE]\n\n"));
    assert(frames.every((f) => f.startsWith("data: ")));
    const chunks = frames.slice(0, -1).map((f) => JSON.parse(f.slice(6)));
    // docs/providers.md, "LM Studio streams": the key order of LM Studio's chunks, and role +
    // content in every delta (no role-only first chunk).
    const sample = JSON.parse(LM_STUDIO_CHUNK);
    assertEquals(Object.keys(chunks[0]), Object.keys(sample));
    assertEquals(Object.keys(chunks[0].choices[0]), Object.keys(sample.choices[0]));
    assertEquals(chunks[0].choices[0].delta, { role: "assistant", content: "a" });
    assertEquals(chunks[1].choices[0].delta, { role: "assistant", content: " b" });
    assertEquals(chunks.at(-2).choices[0], {
      index: 0,
      delta: {},
      logprobs: null,
      finish_reason: "stop",
    });
    assertEquals(chunks.at(-1).choices, []);
    assertEquals(chunks.at(-1).usage.completion_tokens, 2);
    assertEquals(chunks[0].model, "qwen2.5-7b-instruct", "the one loaded model answers");
    const without = await post({});
    assert(!without.includes('"usage"'));
    const plain = await (await fetch(`${lm.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "x", messages: [{ role: "user", content: "hi" }] }),
    })).json();
    assertEquals(plain.stats, undefined, "stats come only from /api/v0 (lmstudio.md)");
  } finally {
    await lm.close();
  }
});

Deno.test("fake LM Studio's auth mode answers 401 with LM Studio's body on every request, the greeting too", async () => {
  const lm = await startFakeLmStudio({ apiToken: "t0ken" });
  try {
    const res = await fetch(`${lm.url}/v1/models`);
    assertEquals([res.status, await res.text()], [401, AUTH_REQUIRED_BODY]);
    const greeting = await fetch(`${lm.url}/lmstudio-greeting`);
    assertEquals([greeting.status, await greeting.text()], [401, AUTH_REQUIRED_BODY]);
    const auth = { headers: { authorization: "Bearer t0ken" } };
    assertEquals(
      await (await fetch(`${lm.url}/lmstudio-greeting`, auth)).text(),
      RECORDED.greeting,
    );
    const ok = await fetch(`${lm.url}/v1/models`, auth);
    assertEquals(ok.status, 200);
    await ok.body?.cancel();
  } finally {
    await lm.close();
  }
});

Deno.test("fake LM Studio's error bodies are the documented bytes", async () => {
  const none = await startFakeLmStudio({ models: [], jit: false });
  const lm = await startFakeLmStudio();
  try {
    const chat = (url: string, extra: object) =>
      fetch(`${url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "m", messages: [{ role: "user", content: "hi" }], ...extra }),
      });
    const r404 = await chat(none.url, {});
    assertEquals([r404.status, await r404.text()], [404, RECORDED.noModels]);
    const r400 = await chat(lm.url, { response_format: { type: "json_object" } });
    assertEquals([r400.status, await r400.text()], [400, RECORDED.responseFormat]);
    assertEquals(AUTH_REQUIRED_BODY.slice(0, RECORDED.auth.length), RECORDED.auth);
  } finally {
    await none.close();
    await lm.close();
  }
});

Deno.test("fake llama.cpp replays health, 404 and loading bodies", async () => {
  const llama = await startFakeLlamaCpp();
  try {
    assertEquals(await (await fetch(`${llama.url}/health`)).text(), '{"status":"ok"}');
    const nf = await fetch(`${llama.url}/lmstudio-greeting`);
    assertEquals([nf.status, await nf.text()], [404, LLAMA_NOT_FOUND_BODY]);
    llama.set({ loading: true });
    const loading = await fetch(`${llama.url}/health`);
    assertEquals([loading.status, await loading.text()], [503, LLAMA_LOADING_BODY]);
  } finally {
    await llama.close();
  }
});
