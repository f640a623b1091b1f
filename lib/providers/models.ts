/**
 * Model lists, normalised to one `ModelInfo` shape whatever the server: each family's adapter
 * knows its routes (LM Studio's native ladder, Ollama's `/api/tags` + `/api/ps`, plain
 * `/v1/models` with llama.cpp's `meta.n_ctx` or vLLM's `max_model_len`). Lists are cached by the
 * one model store (`model_store.ts`); this file holds the uncached fetch and the sizing rules
 * every completion uses.
 */
import type { Settings } from "../settings/schema.ts";
import type { ModelList } from "./adapter.ts";
import { notConfiguredError, ProviderError } from "./errors.ts";
import { getJson, type HttpDeps } from "./http.ts";
import type { ListOptions, ModelStore } from "./model_store.ts";
import type { ModelInfo, ResolvedProvider } from "./types.ts";

export type { ModelList };

/** Dependencies of model listing (with a store, lists are cached and shared). */
export interface ModelDeps extends HttpDeps {
  models?: ModelStore;
}

/** Default time budget for one provider's whole ladder. */
export const DEFAULT_LIST_TIMEOUT_MS = 5000;

/** Lists the provider's models (through the store when given); throws `ProviderError`. */
export function listModels(
  deps: ModelDeps,
  provider: ResolvedProvider,
  opts: ListOptions = {},
): Promise<ModelList> {
  if (!provider.baseUrl) return Promise.reject(new ProviderError(notConfiguredError(provider)));
  if (deps.models) return deps.models.list(provider, opts);
  return fetchModels(deps, provider, opts);
}

/** One uncached listing by the provider's adapter, bounded by one time budget. */
export function fetchModels(
  deps: HttpDeps,
  provider: ResolvedProvider,
  opts: { signal?: AbortSignal; timeoutMs?: number },
): Promise<ModelList> {
  if (!provider.baseUrl) return Promise.reject(new ProviderError(notConfiguredError(provider)));
  const deadline = deps.now() + (opts.timeoutMs ?? DEFAULT_LIST_TIMEOUT_MS);
  const bounded = (body?: unknown) => ({
    signal: opts.signal,
    timeoutMs: Math.max(1, deadline - deps.now()),
    body,
  });
  return provider.record.adapter.listModels({
    provider,
    deps,
    get: (url) => getJson(deps, provider, url, bounded()),
    post: (url, body) => getJson(deps, provider, url, bounded(body)),
  });
}

/** Models usable for chat (embedding models never appear in a chat picker). */
export function chatModels(models: ModelInfo[]): ModelInfo[] {
  return models.filter((m) => m.type !== "embedding");
}

/**
 * The list entry a request for `id` will be sized for. LM Studio and llama.cpp answer with their
 * one loaded model whatever is asked, so an unknown or unloaded id on a local server with exactly
 * one loaded chat model is sized for that one.
 */
export function modelFor(
  list: ModelList | null,
  provider: ResolvedProvider,
  id: string,
): ModelInfo | null {
  if (!list) return null;
  const info = list.models.find((m) => m.id === id) ?? null;
  if (info?.state === "loaded" || !provider.record.local) return info;
  let only: ModelInfo | null = null;
  for (const m of list.models) {
    if (m.type === "embedding" || m.state !== "loaded") continue;
    if (only) return info;
    only = m;
  }
  return only ?? info;
}

/**
 * The context window a request must fit: the model's loaded context when the server reports it,
 * else `llm.local_context_window_size` for local servers; for cloud providers null
 * (unrestricted) or `llm.context_window_size`.
 */
export function effectiveContextWindow(
  settings: Settings,
  provider: ResolvedProvider,
  model: ModelInfo | null | undefined,
): number | null {
  if (model?.loadedContextLength) return model.loadedContextLength;
  if (provider.record.local) return settings["llm.local_context_window_size"];
  return settings["llm.context_window_unrestricted"] ? null : settings["llm.context_window_size"];
}

/** `max_tokens` to send: at most 80 % of the context window (null window: uncapped). */
export function capMaxTokens(maxTokens: number, contextWindow: number | null): number {
  if (contextWindow === null) return maxTokens;
  return Math.max(1, Math.min(maxTokens, Math.floor(contextWindow * 0.8)));
}
