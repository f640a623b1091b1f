/**
 * Model lists (spec §4), normalised to one `ModelInfo` shape whatever the server: LM Studio's
 * ladder `/api/v1/models` → `/api/v0/models` → `/v1/models` (older versions answer the native
 * routes with 200 "Unexpected endpoint", so a rung "fails" by shape, not by status), llama.cpp's
 * `/v1/models` with `meta.n_ctx`, Ollama's `/api/tags` + `/api/ps`, and plain `/v1/models`.
 * Lists are cached for a few seconds per (provider, URL, key) and concurrent callers share one
 * request, because every completion asks for the loaded context.
 */
import type { Settings } from "../settings/schema.ts";
import { errorFromHttp, notConfiguredError, ProviderError } from "./errors.ts";
import { getJson, type HttpDeps, isErrorBody, type JsonAnswer } from "./http.ts";
import { parseV0Models, parseV1Models } from "./lmstudio.ts";
import type { ModelInfo, ModelSource, ResolvedProvider } from "./types.ts";

/** A normalised list and where it came from. */
export interface ModelList {
  models: ModelInfo[];
  source: ModelSource;
}

/** Short-lived, coalescing cache of model lists. */
export interface ModelCache {
  ttlMs: number;
  entries: Map<string, { at: number; promise: Promise<ModelList>; settled: boolean }>;
  /** Bumped by every invalidation, so views built on the cache (the gateway's) drop theirs too. */
  generation: number;
}

/** Dependencies of model listing (a cache is optional: without one every call goes out). */
export interface ModelDeps extends HttpDeps {
  modelCache?: ModelCache;
}

/** Default time budget for one provider's whole ladder. */
export const DEFAULT_LIST_TIMEOUT_MS = 5000;

/** A cache whose entries live `ttlMs` (a few seconds: model loads show up quickly). */
export function createModelCache(ttlMs = 3000): ModelCache {
  return { ttlMs, entries: new Map(), generation: 0 };
}

/** Lists the provider's models; throws `ProviderError` with a typed error on failure. */
export function listModels(
  deps: ModelDeps,
  provider: ResolvedProvider,
  opts: { signal?: AbortSignal; timeoutMs?: number; fresh?: boolean } = {},
): Promise<ModelList> {
  if (!provider.baseUrl) return Promise.reject(new ProviderError(notConfiguredError(provider)));
  const cache = deps.modelCache;
  if (!cache) return fetchModels(deps, provider, opts);
  const key = `${provider.record.id}\n${provider.baseUrl}\n${provider.apiKey ?? ""}`;
  const now = deps.now();
  for (const [k, e] of cache.entries) {
    if (e.settled && now - e.at > cache.ttlMs) cache.entries.delete(k);
  }
  const hit = cache.entries.get(key);
  if (hit && !opts.fresh && (!hit.settled || now - hit.at <= cache.ttlMs)) {
    return withSignal(hit.promise, opts.signal);
  }
  // The shared request is not tied to one caller's signal: another caller may still want it.
  const promise = fetchModels(deps, provider, { timeoutMs: opts.timeoutMs });
  const entry = { at: now, promise, settled: false };
  cache.entries.set(key, entry);
  promise.then(
    () => {
      entry.settled = true;
      entry.at = deps.now();
    },
    () => {
      if (cache.entries.get(key) === entry) cache.entries.delete(key);
    },
  );
  return withSignal(promise, opts.signal);
}

/** Forgets cached lists for a base URL (e.g. after loading a model). */
export function invalidateModels(cache: ModelCache | undefined, baseUrl?: string): void {
  if (!cache) return;
  cache.generation++;
  for (const k of [...cache.entries.keys()]) {
    if (!baseUrl || k.split("\n")[1] === baseUrl) cache.entries.delete(k);
  }
}

function withSignal<T>(promise: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

async function fetchModels(
  deps: HttpDeps,
  provider: ResolvedProvider,
  opts: { signal?: AbortSignal; timeoutMs?: number },
): Promise<ModelList> {
  const deadline = deps.now() + (opts.timeoutMs ?? DEFAULT_LIST_TIMEOUT_MS);
  const get = (url: string) =>
    getJson(deps, provider, url, {
      signal: opts.signal,
      timeoutMs: Math.max(1, deadline - deps.now()),
    });
  const base = provider.baseUrl;
  if (provider.record.id === "lmstudio") {
    for (
      const [path, parse, source] of [
        ["/api/v1/models", parseV1Models, "lmstudio-v1"],
        ["/api/v0/models", parseV0Models, "lmstudio-v0"],
      ] as const
    ) {
      const answer = await get(`${base}${path}`);
      failOnAuth(answer, provider, deps);
      if (answer.status === 200 && !isErrorBody(answer.json)) {
        const models = parse(answer.json);
        if (models) return { models, source };
      }
    }
  }
  if (provider.record.id === "ollama") {
    const tags = await get(`${base}/api/tags`);
    failOnAuth(tags, provider, deps);
    const models = tags.status === 200 ? parseOllamaTags(tags.json) : null;
    if (models) {
      try {
        const ps = await get(`${base}/api/ps`);
        if (ps.status === 200) applyOllamaPs(models, ps.json);
      } catch { /* loaded state is a bonus */ }
      return { models, source: "ollama" };
    }
  }
  const answer = await get(`${provider.apiBase}/models`);
  const data = (answer.json as { data?: unknown } | undefined)?.data;
  if (answer.status !== 200 || !Array.isArray(data) || isErrorBody(answer.json)) {
    throw new ProviderError(
      errorFromHttp(answer.status, answer.json ?? answer.text, answer.headers, provider, {
        url: answer.url,
        inContainer: deps.inContainer,
      }),
    );
  }
  return parseOpenAiModels(data, provider);
}

function failOnAuth(answer: JsonAnswer, provider: ResolvedProvider, deps: HttpDeps): void {
  if (answer.status === 401 || answer.status === 403) {
    throw new ProviderError(
      errorFromHttp(answer.status, answer.json ?? answer.text, answer.headers, provider, {
        url: answer.url,
        inContainer: deps.inContainer,
      }),
    );
  }
}

function isEmbeddingId(id: string): boolean {
  return /embed|bge-|e5-|minilm|nomic-bert/i.test(id);
}

type Json = Record<string, unknown>;

function numOrNull(v: unknown): number | null {
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

/** `/v1/models` records: llama.cpp's `meta`, vLLM's `max_model_len`, or bare ids. */
function parseOpenAiModels(data: unknown[], provider: ResolvedProvider): ModelList {
  let llama = provider.record.id === "llamacpp";
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
  return { models, source: llama ? "llamacpp" : "openai" };
}

function parseOllamaTags(json: unknown): ModelInfo[] | null {
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

function applyOllamaPs(models: ModelInfo[], json: unknown): void {
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

/** Models usable for chat (embedding models never appear in a chat picker). */
export function chatModels(models: ModelInfo[]): ModelInfo[] {
  return models.filter((m) => m.type !== "embedding");
}

/**
 * The context window a request must fit (spec §4): the model's loaded context when the server
 * reports it, else `llm.local_context_window_size` for local servers; for cloud providers null
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
