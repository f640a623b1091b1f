/**
 * The provider module as one object routes, research runs and the /v1 gateway hold: it reads the
 * current settings on every call (so a saved URL or key applies at once), owns the status cache
 * and the model-list cache, and hands out completions. Built once per app from the context.
 */
import type { AppContext } from "../context.ts";
import type { Settings } from "../settings/schema.ts";
import { PROVIDER_IDS } from "../settings/schema.ts";
import { ProviderError, toUpstreamError } from "./errors.ts";
import {
  chatModels,
  createModelCache,
  DEFAULT_LIST_TIMEOUT_MS,
  listModels,
  type ModelCache,
  type ModelList,
} from "./models.ts";
import { PROVIDERS } from "./records.ts";
import { resolveProvider, resolveWith } from "./resolve.ts";
import { createStatusProber, probeStatus } from "./status.ts";
import { streamChat, type StreamDeps } from "./stream.ts";
import type {
  ChatRequest,
  ProviderId,
  ProviderStatus,
  ResolvedProvider,
  StreamEvent,
} from "./types.ts";

/** One provider as `GET /api/providers` lists it (never the key itself). */
export interface ProviderSummary {
  id: ProviderId;
  displayName: string;
  local: boolean;
  baseUrl: string;
  keySet: boolean;
  /** True for the provider chosen in `llm.provider`. */
  selected: boolean;
  urlSetting: string | null;
  apiKeySetting: string;
  modelsNeedKey: boolean;
}

/** What the provider service offers. */
export interface ProviderService {
  /** Every provider with its current URL and whether a key is set. */
  list(): Promise<ProviderSummary[]>;
  /** The provider (default: `llm.provider`) with the current settings. */
  resolve(id?: ProviderId): Promise<ResolvedProvider>;
  /** Cached (≤ 2 s), coalesced availability probe. */
  status(id: ProviderId, opts?: { fresh?: boolean }): Promise<ProviderStatus>;
  /**
   * The same probe on unsaved values (the settings form's "Test connection"), never cached.
   * `apiKey` undefined or null means "the saved key" (the form cannot see it); "" means none.
   */
  test(id: ProviderId, url: string, apiKey?: string | null): Promise<ProviderStatus>;
  /** Normalised models; `type: "chat"` drops embedding models. Throws `ProviderError`. */
  models(
    id: ProviderId,
    opts?: { type?: "chat" | "all"; signal?: AbortSignal; timeoutMs?: number; fresh?: boolean },
  ): Promise<ModelList>;
  /**
   * A completion on `req.provider` (default `llm.provider`) with the current settings, or with
   * `frozen` ones (a research run's copy, resolved once at its start).
   */
  stream(
    req: ChatRequest,
    signal: AbortSignal,
    frozen?: Settings,
  ): AsyncGenerator<StreamEvent, void, undefined>;
  /** Dependencies for calling `streamChat` directly with the current settings. */
  streamDeps(): Promise<StreamDeps>;
  /** The shared model-list cache. */
  readonly modelCache: ModelCache;
}

/** Builds the service over the app context. */
export function createProviderService(
  ctx: Pick<AppContext, "fetch" | "now" | "settings" | "config">,
): ProviderService {
  const http = { fetch: ctx.fetch, now: ctx.now, inContainer: ctx.config.inContainer };
  const modelCache = createModelCache();
  const prober = createStatusProber(http);
  const settings = async (): Promise<Settings> => (await ctx.settings.get()).values;

  async function streamDeps(): Promise<StreamDeps> {
    return { ...http, settings: await settings(), modelCache };
  }

  return {
    modelCache,
    async list() {
      const s = await settings();
      return PROVIDER_IDS.map((id) => {
        const p = resolveProvider(s, id);
        return {
          id,
          displayName: p.record.displayName,
          local: p.record.local,
          baseUrl: p.baseUrl,
          keySet: p.keySet,
          selected: s["llm.provider"] === id,
          urlSetting: p.record.urlSetting,
          apiKeySetting: p.record.apiKeySetting,
          modelsNeedKey: p.record.modelsNeedKey,
        };
      });
    },
    async resolve(id) {
      return resolveProvider(await settings(), id);
    },
    async status(id, opts) {
      return await prober(resolveProvider(await settings(), id), opts);
    },
    async test(id, url, apiKey) {
      const record = PROVIDERS[id];
      const saved = resolveProvider(await settings(), id);
      const key = apiKey === undefined || apiKey === null
        ? (saved.keySet ? saved.apiKey ?? "" : "")
        : apiKey;
      return await probeStatus(http, resolveWith(record, url, key));
    },
    async models(id, opts = {}) {
      const provider = resolveProvider(await settings(), id);
      const url = `${provider.apiBase}/models`;
      if (provider.record.modelsNeedKey && !provider.keySet) {
        throw new ProviderError(
          toUpstreamError(null, provider, {
            url,
            inContainer: http.inContainer,
            status: 401,
            body: { error: "No API key is set" },
          }),
        );
      }
      const list = await listModels({ ...http, modelCache }, provider, {
        signal: opts.signal,
        timeoutMs: opts.timeoutMs ?? DEFAULT_LIST_TIMEOUT_MS,
        fresh: opts.fresh,
      });
      return opts.type === "chat" ? { ...list, models: chatModels(list.models) } : list;
    },
    async *stream(req, signal, frozen) {
      const deps = frozen ? { ...http, settings: frozen, modelCache } : await streamDeps();
      yield* streamChat(deps, resolveProvider(deps.settings, req.provider), req, signal);
    },
    streamDeps,
  };
}

const SERVICES = new WeakMap<object, ProviderService>();

/**
 * The one service for an app context: routes, research runs and the gateway all call this, so they
 * share one status cache and one model cache without threading the service through every factory.
 */
export function providerServiceFor(
  ctx: Pick<AppContext, "fetch" | "now" | "settings" | "config">,
): ProviderService {
  let service = SERVICES.get(ctx);
  if (!service) {
    service = createProviderService(ctx);
    SERVICES.set(ctx, service);
  }
  return service;
}
