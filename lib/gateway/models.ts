/**
 * What the gateway knows about a provider's models without asking on every request. Capping
 * `max_tokens` needs the loaded context of the model, but a listing on the hot path (even through
 * the provider module's few-second cache) puts a network round trip into the time to first token
 * of every request that lands just after the cache expired. So the gateway keeps the last list it
 * saw per provider fingerprint and refreshes it in the background (through the provider module's
 * coalescing cache) once it is older than that cache's TTL; only the first request, or one after a
 * long idle spell, waits for a listing.
 */
import { listModels, type ModelCache, type ModelList } from "../providers/models.ts";
import type { HttpDeps } from "../providers/http.ts";
import type { ModelInfo, ResolvedProvider } from "../providers/types.ts";

/** A list older than this is not trusted for capping: the caller waits for a fresh one. */
export const MAX_STALE_MS = 60_000;

/** Last-known model lists, refreshed behind the requests that use them. */
export interface ModelView {
  /** The last list when fresh enough (a background refresh starts when it is past the TTL). */
  known(provider: ResolvedProvider): ModelList | null;
  /** Waits for a list (shared, coalesced); remembers it. Throws `ProviderError`. */
  load(
    provider: ResolvedProvider,
    opts: { signal?: AbortSignal; timeoutMs: number },
  ): Promise<ModelList>;
}

/** Builds the view over the provider module's HTTP deps and model cache. */
export function createModelView(
  deps: HttpDeps & { modelCache: ModelCache },
  opts: { maxStaleMs?: number } = {},
): ModelView {
  const maxStale = opts.maxStaleMs ?? MAX_STALE_MS;
  const lists = new Map<
    string,
    { at: number; list: ModelList; refreshing: boolean; generation: number }
  >();
  const fingerprint = (p: ResolvedProvider) => `${p.record.id}\n${p.baseUrl}\n${p.apiKey ?? ""}`;

  async function load(
    provider: ResolvedProvider,
    o: { signal?: AbortSignal; timeoutMs: number },
  ): Promise<ModelList> {
    const generation = deps.modelCache.generation;
    const list = await listModels(deps, provider, o);
    lists.set(fingerprint(provider), { at: deps.now(), list, refreshing: false, generation });
    if (lists.size > 16) lists.delete(lists.keys().next().value!);
    return list;
  }

  return {
    load,
    known(provider) {
      const entry = lists.get(fingerprint(provider));
      // A model was loaded or unloaded since: this list is wrong now.
      if (!entry || entry.generation !== deps.modelCache.generation) return null;
      const age = deps.now() - entry.at;
      if (age > maxStale) return null;
      if (age > deps.modelCache.ttlMs && !entry.refreshing) {
        entry.refreshing = true;
        load(provider, { timeoutMs: 5000 }).catch(() => {
          entry.refreshing = false;
        });
      }
      return entry.list;
    },
  };
}

/**
 * The list entry a request for `id` will be sized for. LM Studio and llama.cpp answer with their
 * one loaded model whatever is asked, so an unknown or unloaded id on a local server with exactly
 * one loaded chat model is sized for that one (the provider module's `prepareChat` rule).
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
