/**
 * Ollama and vLLM through the provider module, against fakes built from their documented APIs
 * (docs/providers.md, "Ollama" and "vLLM"): listing, the context a request is sized for, the
 * status probe, and streaming.
 */
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { effectiveContextWindow, listModels } from "../../lib/providers/models.ts";
import { probeStatus } from "../../lib/providers/status.ts";
import { streamChat } from "../../lib/providers/stream.ts";
import type { StreamEvent } from "../../lib/providers/types.ts";
import { startFakeOllama, startFakeVllm } from "../fakes/openai_compatible.ts";
import { startRig } from "../gateway/setup.ts";
import { collect, httpDeps, last, provider, settingsWith, streamDeps, text } from "./support.ts";

const HI = [{ role: "user" as const, content: "hi" }];
const never = () => new AbortController().signal;

function sentBody(requests: { path: string; body: unknown }[]) {
  return requests.filter((r) => r.path === "/v1/chat/completions").at(-1)!.body as Record<
    string,
    unknown
  >;
}

Deno.test("Ollama: models from /api/tags, loaded state and context from /api/ps, maximum from /api/show", async () => {
  const ollama = startFakeOllama();
  try {
    const { models, source } = await listModels(httpDeps(), provider("ollama", ollama.url));
    assertEquals(source, "ollama");
    const byId = Object.fromEntries(models.map((m) => [m.id, m]));
    assertEquals(Object.keys(byId), [
      "llama3.2:latest",
      "gemma3:latest",
      "nomic-embed-text:latest",
    ]);
    assertEquals(byId["llama3.2:latest"].state, "loaded");
    assertEquals(byId["llama3.2:latest"].loadedContextLength, 8192);
    assertEquals(byId["llama3.2:latest"].maxContextLength, 131072);
    assertEquals(byId["llama3.2:latest"].capabilities.tools, true);
    assertEquals(byId["llama3.2:latest"].quantization, "Q4_K_M");
    assertEquals(byId["gemma3:latest"].state, "not-loaded");
    assertEquals(byId["gemma3:latest"].type, "vlm");
    assertEquals(byId["nomic-embed-text:latest"].type, "embedding");
    const s = settingsWith({ "llm.local_context_window_size": 4096 });
    const p = provider("ollama", ollama.url);
    assertEquals(effectiveContextWindow(s, p, byId["llama3.2:latest"]), 8192);
    assertEquals(effectiveContextWindow(s, p, byId["gemma3:latest"]), 4096, "not loaded: setting");
  } finally {
    await ollama.close();
  }
});

Deno.test("Ollama: the status probe recognises it; a stream is sized for the loaded context", async () => {
  const ollama = startFakeOllama({ reply: "one two three" });
  try {
    const status = await probeStatus(httpDeps(), provider("ollama", ollama.url));
    assertEquals([status.state, status.server, status.modelCount], ["available", "ollama", 3]);
    const events = await collect(
      streamChat(
        streamDeps({ "llm.model": "llama3.2:latest", "llm.max_tokens": 30000 }),
        provider("ollama", ollama.url),
        { messages: HI },
        never(),
      ),
    );
    assertEquals(last(events).type, "done", JSON.stringify(last(events)));
    assertEquals(text(events), "one two three");
    const usage = events.find((e) => e.type === "usage") as Extract<StreamEvent, { type: "usage" }>;
    assertEquals(usage.usage.completionTokens, 3);
    const body = sentBody(ollama.requests);
    assertEquals(body.max_tokens, Math.floor(8192 * 0.8), "80 % of the loaded context");
    assertEquals(body.stream_options, { include_usage: true });
  } finally {
    await ollama.close();
  }
});

Deno.test("Ollama: a model that is not pulled is a typed model error", async () => {
  const ollama = startFakeOllama();
  try {
    const events = await collect(
      streamChat(streamDeps({ "llm.model": "mistral" }), provider("ollama", ollama.url), {
        messages: HI,
      }, never()),
    );
    const end = last(events);
    assert(end.type === "error");
    assertEquals(end.error.kind, "model_not_found");
    assertStringIncludes(end.error.hint, "ollama pull");
  } finally {
    await ollama.close();
  }
});

Deno.test("vLLM: /v1/models' max_model_len is the context; requests are sized by it", async () => {
  const vllm = startFakeVllm({ maxModelLen: 2048, reply: "alpha beta" });
  try {
    const p = provider("openai_endpoint", vllm.url);
    const { models } = await listModels(httpDeps(), p);
    assertEquals(models.map((m) => [m.id, m.state, m.loadedContextLength, m.maxContextLength]), [
      ["Qwen/Qwen2.5-0.5B-Instruct", "loaded", 2048, 2048],
    ]);
    const status = await probeStatus(httpDeps(), p);
    assertEquals([status.state, status.server], ["available", "openai-compatible"]);
    // No model named: the one served is used, and max_tokens is capped to 80 % of its context.
    const events = await collect(
      streamChat(
        streamDeps({ "llm.model": "", "llm.max_tokens": 30000 }),
        p,
        { messages: HI },
        never(),
      ),
    );
    assertEquals(last(events).type, "done", JSON.stringify(last(events)));
    assertEquals(text(events), "alpha beta");
    const body = sentBody(vllm.requests);
    assertEquals(body.model, "Qwen/Qwen2.5-0.5B-Instruct");
    assertEquals(body.max_tokens, Math.floor(2048 * 0.8));
  } finally {
    await vllm.close();
  }
});

Deno.test("vLLM: a prompt over max_model_len is a token-limit error with both numbers", async () => {
  const vllm = startFakeVllm({ maxModelLen: 600 });
  try {
    const long = [{ role: "user" as const, content: "word ".repeat(400) }];
    const events = await collect(
      streamChat(
        streamDeps({ "llm.model": "Qwen/Qwen2.5-0.5B-Instruct" }),
        provider("openai_endpoint", vllm.url),
        { messages: long },
        never(),
      ),
    );
    const end = last(events);
    assert(end.type === "error", JSON.stringify(end));
    assertEquals(end.error.kind, "token_limit");
    assertEquals(end.error.contextLength, 600);
    assert((end.error.promptTokens ?? 0) > 600, JSON.stringify(end.error));
    assertStringIncludes(end.error.hint, "--max-model-len");
  } finally {
    await vllm.close();
  }
});

Deno.test("Ollama and vLLM behind deepstudio's /v1: streamed bytes as the server sent them, sized by their context", async () => {
  const ollama = startFakeOllama({ reply: "one two" });
  const vllm = startFakeVllm({ maxModelLen: 1024, reply: "three four" });
  const rig = await startRig({
    env: {
      LDR_LLM_PROVIDER: "ollama",
      LDR_LLM_OLLAMA_URL: ollama.url,
      LDR_LLM_OPENAI_ENDPOINT_URL: vllm.url,
    },
  });
  try {
    const ask = { model: "llama3.2:latest", messages: HI, stream: true, max_tokens: 50000 };
    const text1 = await (await rig.post("/v1/chat/completions", ask)).text();
    const chunks = text1.split("\n\n").filter((e) => e && e !== "data: [DONE]")
      .map((e) => JSON.parse(e.slice(6)));
    assertEquals(chunks.map((c) => c.choices[0].delta.content).join(""), "one two");
    assertEquals(chunks[0].system_fingerprint, "fp_ollama");
    assert(!text1.includes('"usage"'), "the usage chunk deepstudio asked for is hidden");
    assertEquals(sentBody(ollama.requests).max_tokens, Math.floor(8192 * 0.8));

    const text2 = await (await rig.post("/v1/chat/completions", {
      model: "openai_endpoint/Qwen/Qwen2.5-0.5B-Instruct",
      messages: HI,
      max_tokens: 50000,
    })).json();
    assertEquals(text2.choices[0].message.content, "three four");
    assertEquals(sentBody(vllm.requests).max_tokens, Math.floor(1024 * 0.8));
  } finally {
    await rig.close();
    await ollama.close();
    await vllm.close();
  }
});
