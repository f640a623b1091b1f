/**
 * The one model store: every model list deepstudio uses (pickers, completions sizing
 * `max_tokens`, the /v1 gateway) comes from here, per (provider, URL, key).
 *
 * - `list` caches a list for `ttlMs` (a few seconds, so a model loaded in LM Studio shows up
 *   quickly) and makes concurrent callers share one request, because every completion asks.
 * - `known` is for the hot path: the last list, up to `maxStaleMs` old, without waiting; past the
 *   TTL it starts a background refresh, so a request landing just after expiry does not put a
 *   listing round trip into its time to first token.
 * - `invalidate` is the one way to forget: the provider service calls it after a model load or
 *   unload, so the next caller sees the new state.
 */
import type { ModelList } from "./adapter.ts";
import type { HttpDeps } from "./http.ts";
import { fetchModels } from "./models.ts";
import type { ResolvedProvider } from "./types.ts";

/** A list older than this is not trusted for capping: callers wait for a fresh one. */
export const MAX_STALE_MS = 60_000;
/** How long a listing is reused without asking again. */
export const MODEL_TTL_MS = 3000;

/** Options of one listing. */
export interface ListOptions {
  signal?: AbortSignal;
  /** The whole ladder's time budget. */
  timeoutMs?: number;
  /** Skip the cache (a list already in flight is still shared). */
  fresh?: boolean;
}

/** Cached, coalesced model lists with one invalidation path. */
export interface ModelStore {
  readonly ttlMs: number;
  /** The provider's models; throws `ProviderError`. */
  list(provider: ResolvedProvider, opts?: ListOptions): Promise<ModelList>;
  /** The last list when fresh enough (refreshed in the background past the TTL), else null. */
  known(provider: ResolvedProvider): ModelList | null;
  /** Forgets every list for `baseUrl` (all lists when omitted). */
  invalidate(baseUrl?: string): void;
}

interface Entry {
  at: number;
  promise: Promise<ModelList>;
  settled: boolean;
  baseUrl: string;
}

/** Builds a store over the provider module's HTTP deps. */
export function createModelStore(
  deps: HttpDeps,
  opts: { ttlMs?: number; maxStaleMs?: number } = {},
): ModelStore {
  const ttlMs = opts.ttlMs ?? MODEL_TTL_MS;
  const maxStale = opts.maxStaleMs ?? MAX_STALE_MS;
  const entries = new Map<string, Entry>();
  const last = new Map<string, { at: number; list: ModelList; refreshing: boolean }>();
  const keyOf = (p: ResolvedProvider) => `${p.record.id}\n${p.baseUrl}\n${p.apiKey ?? ""}`;

  function list(provider: ResolvedProvider, o: ListOptions = {}): Promise<ModelList> {
    const key = keyOf(provider);
    const now = deps.now();
    for (const [k, e] of entries) {
      if (e.settled && now - e.at > ttlMs) entries.delete(k);
    }
    const hit = entries.get(key);
    if (hit && (!hit.settled || (!o.fresh && now - hit.at <= ttlMs))) {
      return withSignal(hit.promise, o.signal);
    }
    // The shared request is not tied to one caller's signal: another caller may still want it.
    const promise = fetchModels(deps, provider, { timeoutMs: o.timeoutMs });
    const entry: Entry = { at: now, promise, settled: false, baseUrl: provider.baseUrl };
    entries.set(key, entry);
    promise.then(
      (result) => {
        if (entries.get(key) !== entry) return; // invalidated while in flight
        entry.settled = true;
        entry.at = deps.now();
        last.set(key, { at: entry.at, list: result, refreshing: false });
        if (last.size > 16) last.delete(last.keys().next().value!);
      },
      () => {
        if (entries.get(key) === entry) entries.delete(key);
      },
    );
    return withSignal(promise, o.signal);
  }

  return {
    ttlMs,
    list,
    known(provider) {
      const entry = last.get(keyOf(provider));
      if (!entry) return null;
      const age = deps.now() - entry.at;
      if (age > maxStale) return null;
      if (age > ttlMs && !entry.refreshing) {
        entry.refreshing = true;
        list(provider, { timeoutMs: 5000 }).catch(() => {
          entry.refreshing = false;
        });
      }
      return entry.list;
    },
    invalidate(baseUrl) {
      for (const [k, e] of entries) if (!baseUrl || e.baseUrl === baseUrl) entries.delete(k);
      for (const k of [...last.keys()]) {
        if (!baseUrl || k.split("\n")[1] === baseUrl) last.delete(k);
      }
    },
  };
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
