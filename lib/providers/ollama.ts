/**
 * Ollama: models are pulled, not loaded by hand; `/api/tags` lists what is on disk and `/api/ps`
 * what is in memory with the context it was loaded with (`context_length`). Both shapes are in
 * docs/providers.md ("Ollama"). Chat goes through its OpenAI-compatible `/v1`.
 */
import type { ListContext, ModelList, ProviderAdapter } from "./adapter.ts";
import { GENERIC_HINTS, isEmbeddingId, listOpenAiModels, numOrNull } from "./openai_compatible.ts";
import { failOnAuth } from "./http.ts";
import type { ModelInfo } from "./types.ts";
import { ollamaEmbed } from "./embed_wire.ts";

type Json = Record<string, unknown>;

/** `/api/tags` → models (all "not-loaded" until `/api/ps` says otherwise); null: not that shape. */
export function parseOllamaTags(json: unknown): ModelInfo[] | null {
  const list = (json as { models?: unknown } | undefined)?.models;
  if (!Array.isArray(list)) return null;
  return list.filter((m) => typeof (m as Json)?.name === "string").map((raw) => {
    const m = raw as Json;
    const details = (m.details ?? {}) as Json;
    const families = Array.isArray(details.families) ? details.families.map(String) : [];
    const family = typeof details.family === "string" ? details.family : "";
    const name = String(m.model ?? m.name);
    const embedding = isEmbeddingId(name) || /bert/i.test(family) ||
      families.some((f) => /bert/i.test(f));
    const caps = Array.isArray(m.capabilities) ? m.capabilities.map(String) : [];
    return {
      id: name,
      displayName: String(m.name),
      type: embedding ? "embedding" : caps.includes("vision") ? "vlm" : "llm",
      state: "not-loaded",
      loadedContextLength: null,
      maxContextLength: null,
      quantization: typeof details.quantization_level === "string" && details.quantization_level
        ? details.quantization_level
        : null,
      arch: family || null,
      capabilities: {
        tools: caps.includes("tools"),
        vision: caps.includes("vision"),
        reasoning: caps.includes("thinking"),
      },
    } satisfies ModelInfo;
  });
}

/** Marks the models `/api/ps` lists as loaded, with their loaded context. */
export function applyOllamaPs(models: ModelInfo[], json: unknown): void {
  const running = (json as { models?: unknown } | undefined)?.models;
  if (!Array.isArray(running)) return;
  for (const raw of running) {
    const r = raw as Json;
    const m = models.find((x) => x.id === r.model || x.id === r.name);
    if (!m) continue;
    m.state = "loaded";
    m.loadedContextLength = numOrNull(r.context_length);
  }
}

/** `/api/show`: the architecture's context length and the capabilities list. */
export function applyOllamaShow(model: ModelInfo, json: unknown): void {
  const show = (json ?? {}) as { model_info?: Json; capabilities?: unknown };
  const info = show.model_info ?? {};
  const arch = typeof info["general.architecture"] === "string"
    ? info["general.architecture"]
    : model.arch;
  const ctx = numOrNull(info[`${arch}.context_length`]) ??
    numOrNull(Object.entries(info).find(([k]) => k.endsWith(".context_length"))?.[1]);
  if (ctx !== null) model.maxContextLength = ctx;
  if (Array.isArray(show.capabilities)) {
    const caps = show.capabilities.map(String);
    model.capabilities = {
      tools: caps.includes("tools"),
      vision: caps.includes("vision"),
      reasoning: caps.includes("thinking"),
    };
    if (caps.includes("embedding") && !caps.includes("completion")) model.type = "embedding";
    else if (caps.includes("vision") && model.type === "llm") model.type = "vlm";
  }
}

/** At most this many `/api/show` calls per listing (they run in parallel). */
const MAX_SHOW = 16;

async function listOllama(ctx: ListContext): Promise<ModelList> {
  const base = ctx.provider.baseUrl;
  const tags = await ctx.get(`${base}/api/tags`);
  failOnAuth(tags, ctx.provider, ctx.deps);
  const models = tags.status === 200 ? parseOllamaTags(tags.json) : null;
  if (!models) return await listOpenAiModels(ctx, "openai");
  // Loaded state and maximum context are a bonus: a failure leaves them unknown.
  await Promise.all([
    ctx.get(`${base}/api/ps`).then((ps) => {
      if (ps.status === 200) applyOllamaPs(models, ps.json);
    }, () => {}),
    ...models.slice(0, MAX_SHOW).map((m) =>
      ctx.post(`${base}/api/show`, { model: m.id }).then((show) => {
        if (show.status === 200) applyOllamaShow(m, show.json);
      }, () => {})
    ),
  ]);
  return { models, source: "ollama" };
}

/** The Ollama family. */
export const ollamaAdapter: ProviderAdapter = {
  family: "ollama",
  listModels: listOllama,
  // Embeddings: the Library (lib/providers/embed_wire.ts).
  embed: ollamaEmbed,
  recognizes(body) {
    const data = Array.isArray(body.data) ? body.data as Json[] : [];
    return data.some((m) => m?.owned_by === "library" || m?.owned_by === "ollama");
  },
  hints: {
    ...GENERIC_HINTS,
    start: () =>
      "Start Ollama (the desktop app, or `ollama serve`) and check the URL and port (default 11434).",
    tokenLimit:
      "Give the model a larger context (OLLAMA_CONTEXT_LENGTH=N for `ollama serve`, or num_ctx in a Modelfile), or shorten the input.",
    modelNotFound: "Pull the model first (`ollama pull <model>`), or pick one from the model list.",
    noModels: "Ollama answers but has no model: pull one (`ollama pull <model>`).",
    context: (model, tokens) =>
      `Give ${model} a larger context in Ollama: set num_ctx to ${tokens} (\`OLLAMA_CONTEXT_LENGTH=${tokens} ollama serve\`, or \`PARAMETER num_ctx ${tokens}\` in its Modelfile).`,
  },
};
