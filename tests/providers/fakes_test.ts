/** The fakes must speak the transcripts' wire format: checked here byte for byte where given. */
import { assert, assertEquals } from "../assert.ts";
import { AUTH_REQUIRED_BODY, startFakeLmStudio } from "../fakes/lmstudio.ts";
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

Deno.test("fake LM Studio streams role-only first chunk, empty final delta, usage only on request, [DONE]", async () => {
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
    assertEquals(chunks[0].choices[0].delta, { role: "assistant" });
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
  } finally {
    await lm.close();
  }
});

Deno.test("fake LM Studio's auth mode answers 401 with LM Studio's body but keeps the greeting open", async () => {
  const lm = await startFakeLmStudio({ apiToken: "t0ken" });
  try {
    const res = await fetch(`${lm.url}/v1/models`);
    assertEquals([res.status, await res.text()], [401, AUTH_REQUIRED_BODY]);
    assertEquals((await fetch(`${lm.url}/lmstudio-greeting`)).status, 200);
    const ok = await fetch(`${lm.url}/v1/models`, { headers: { authorization: "Bearer t0ken" } });
    assertEquals(ok.status, 200);
    await ok.body?.cancel();
  } finally {
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
