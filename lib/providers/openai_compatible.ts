/**
 * The generic OpenAI-compatible family: any server with `GET /v1/models` and
 * `POST /v1/chat/completions` (vLLM, LocalAI, a proxy, OpenAI itself). It is also the fallback
 * every other family's listing ends in. vLLM reports the context it serves as `max_model_len` on
 * each `/v1/models` entry (docs/providers.md, "vLLM"), llama.cpp as `meta.n_ctx`; other servers
 * say nothing, and the effective context then comes from the settings.
 */
import type { ListContext, ModelList, ProviderAdapter } from "./adapter.ts";
import { errorFromHttp, ProviderError } from "./errors.ts";
import { isErrorBody } from "./http.ts";
import type { ModelInfo, ModelSource } from "./types.ts";
import { openAiEmbed } from "./embed_wire.ts";
import { GENERIC_UI } from "./ui_text.ts";

type Json = Record<string, unknown>;

/** A finite number, else null. */
export function numOrNull(v: unknown): number | null {
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

/** Embedding models by name, for servers that do not say a model's type. */
export function isEmbeddingId(id: string): boolean {
  return /embed|bge-|e5-|minilm|nomic-bert/i.test(id);
}

/** `<base>/v1/models` parsed; `source` is what to report unless llama.cpp's `meta` shows. */
export async function listOpenAiModels(ctx: ListContext, source: ModelSource): Promise<ModelList> {
  const answer = await ctx.get(`${ctx.provider.apiBase}/models`);
  const data = (answer.json as { data?: unknown } | undefined)?.data;
  if (answer.status !== 200 || !Array.isArray(data) || isErrorBody(answer.json)) {
    throw new ProviderError(
      errorFromHttp(answer.status, answer.json ?? answer.text, answer.headers, ctx.provider, {
        url: answer.url,
        inContainer: ctx.deps.inContainer,
      }),
    );
  }
  return parseOpenAiModels(data, source);
}

/** `/v1/models` records: llama.cpp's `meta`, vLLM's `max_model_len`, or bare ids. */
export function parseOpenAiModels(data: unknown[], source: ModelSource): ModelList {
  let llama = source === "llamacpp";
  const models = data.filter((m) => typeof (m as Json)?.id === "string").map((raw) => {
    const m = raw as Json;
    const id = String(m.id);
    const meta = (m.meta ?? null) as Json | null;
    const nCtx = numOrNull(meta?.n_ctx);
    const maxLen = numOrNull(m.max_model_len);
    if (nCtx !== null || m.owned_by === "llamacpp") llama = true;
    const loadedContext = nCtx ?? maxLen;
    return {
      id,
      displayName: id,
      type: isEmbeddingId(id) ? "embedding" : "llm",
      state: loadedContext !== null ? "loaded" : "unknown",
      loadedContextLength: loadedContext,
      maxContextLength: numOrNull(meta?.n_ctx_train) ?? maxLen,
      quantization: null,
      arch: null,
      capabilities: { tools: false, vision: false, reasoning: false },
    } satisfies ModelInfo;
  });
  return { models, source: llama ? "llamacpp" : source };
}

/** Generic hints: they name the setting to change, since the server could be anything. */
export const GENERIC_HINTS: ProviderAdapter["hints"] = {
  start: (p) => `Make sure ${p.record.displayName} is running, then check the URL and port.`,
  auth: (p) => `Set ${p.record.apiKeySetting} to a valid key.`,
  tokenLimit:
    "Restart the server with a larger context (llama-server -c N, vllm serve --max-model-len N), or shorten the input.",
  modelNotFound: "Pick a model the server has loaded (see the model list).",
  noModels: "The server answers but lists no model: load or pull one.",
  context: (model, tokens) =>
    `Serve ${model} with a context of at least ${tokens} tokens (llama-server \`-c ${tokens}\`, vLLM \`--max-model-len ${tokens}\`).`,
  ui: GENERIC_UI,
};

/** The generic family (also OpenAI's cloud, whose record differs only in URL and key rules). */
export const openAiCompatibleAdapter: ProviderAdapter = {
  family: "openai-compatible",
  listModels: (ctx) => listOpenAiModels(ctx, "openai"),
  // Embeddings: the Library (lib/providers/embed_wire.ts).
  embed: openAiEmbed,
  hints: GENERIC_HINTS,
};
