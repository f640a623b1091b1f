/**
 * The provider module as one object routes, research runs and the /v1 gateway hold: it reads the
 * current settings on every call (so a saved URL or key applies at once), owns the status cache,
 * the one model store and the one idle watcher, hands out completions, and runs the adapters'
 * optional slots (embeddings, model load/unload). Built once per app from the context.
 */
import type { AppContext } from "../context.ts";
import type { Settings } from "../settings/schema.ts";
import { PROVIDER_IDS } from "../settings/schema.ts";
import type {
  EmbedRequest,
  EmbedResult,
  LoadModelRequest,
  LoadModelResult,
  ProviderAdapter,
  SlotContext,
  UnloadModelRequest,
} from "./adapter.ts";
import { notConfiguredError, ProviderError, toUpstreamError, unsupportedError } from "./errors.ts";
import { createIdleWatcher, type IdleWatcher } from "./idle.ts";
import { createModelStore, type ModelStore } from "./model_store.ts";
import { chatModels, DEFAULT_LIST_TIMEOUT_MS, listModels, type ModelList } from "./models.ts";
import { PROVIDERS } from "./records.ts";
import type { FamilyUi } from "./ui_text.ts";
import { resolveProvider, resolveWith, savedKeyFor } from "./resolve.ts";
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
  /** The server family (`lmstudio`, `llamacpp`, `ollama`, `openai-compatible`). */
  family: ProviderAdapter["family"];
  /**
   * Which optional adapter slots this provider has; `jit`: a listed model that is not loaded is
   * loaded on its first request.
   */
  can: { embed: boolean; loadModel: boolean; unloadModel: boolean; jit: boolean };
  /** The family's texts for the Status checklist and the status line (lib/providers/ui_text.ts). */
  ui: FamilyUi;
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
   * `apiKey` undefined or null means "the saved key" (the form cannot see it), which is sent only
   * when `url` is the saved URL (lib/providers/resolve.ts `savedKeyFor`); "" means none.
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
  /** Embeddings through the provider's adapter; throws `ProviderError` (unsupported included). */
  embed(id: ProviderId, req: EmbedRequest, signal?: AbortSignal): Promise<EmbedResult>;
  /** Loads a model through the adapter, then drops the cached lists for that server. */
  loadModel(id: ProviderId, req: LoadModelRequest, signal?: AbortSignal): Promise<LoadModelResult>;
  /** Unloads a model through the adapter, then drops the cached lists for that server. */
  unloadModel(id: ProviderId, req: UnloadModelRequest, signal?: AbortSignal): Promise<void>;
  /** The one model store (the gateway reads it on its hot path). */
  readonly modelStore: ModelStore;
  /** The one idle-timeout watcher (completions and the gateway's relays). */
  readonly idle: IdleWatcher;
}

/** Builds the service over the app context. */
export function createProviderService(
  ctx: Pick<AppContext, "fetch" | "now" | "settings" | "config">,
): ProviderService {
  const http = { fetch: ctx.fetch, now: ctx.now, inContainer: ctx.config.inContainer };
  // The model list goes over fetch, not the /v1 relay's raw client: reading it over the raw
  // client made a cancelled research run hang now and then (docs/decisions/memory-targets.md,
  // "Start-up without zod", the note after its tables).
  const store = createModelStore(http);
  const idle = createIdleWatcher(() => performance.now());
  const prober = createStatusProber(http, {
    onChange: (provider) => store.invalidate(provider.baseUrl),
  });
  const settings = async (): Promise<Settings> => (await ctx.settings.get()).values;

  async function streamDeps(): Promise<StreamDeps> {
    return { ...http, settings: await settings(), models: store, idle };
  }

  /** The slot's context for provider `id`, or a typed refusal when it has no URL or no slot. */
  async function slot<K extends "embed" | "loadModel" | "unloadModel">(
    id: ProviderId,
    name: K,
    what: string,
    signal?: AbortSignal,
  ): Promise<{ ctx: SlotContext; fn: NonNullable<ProviderAdapter[K]> }> {
    const provider = resolveProvider(await settings(), id);
    if (!provider.baseUrl) throw new ProviderError(notConfiguredError(provider));
    const fn = provider.record.adapter[name];
    if (!fn) throw new ProviderError(unsupportedError(provider, what));
    return { ctx: { deps: http, provider, signal }, fn: fn as NonNullable<ProviderAdapter[K]> };
  }

  /** Per provider, the embed slot the next `embed` call uses (see there). */
  const embedSlots = new Map<ProviderId, ReturnType<typeof slot<"embed">>>();

  return {
    modelStore: store,
    idle,
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
          family: p.record.adapter.family,
          can: {
            embed: !!p.record.adapter.embed,
            loadModel: !!p.record.adapter.loadModel,
            unloadModel: !!p.record.adapter.unloadModel,
            jit: !!p.record.adapter.jit,
          },
          ui: p.record.adapter.hints.ui,
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
      // The saved key goes only to the saved URL; a test of another URL sends none.
      const key = apiKey === undefined || apiKey === null ? savedKeyFor(saved, url) : apiKey;
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
      const list = await listModels({ ...http, models: store }, provider, {
        signal: opts.signal,
        timeoutMs: opts.timeoutMs ?? DEFAULT_LIST_TIMEOUT_MS,
        fresh: opts.fresh,
      });
      return opts.type === "chat" ? { ...list, models: chatModels(list.models) } : list;
    },
    async *stream(req, signal, frozen) {
      const deps = frozen ? { ...http, settings: frozen, models: store, idle } : await streamDeps();
      const provider = resolveProvider(deps.settings, req.provider);
      const stream = provider.record.adapter.streamChat ?? streamChat;
      yield* stream(deps, provider, req, signal);
    },
    streamDeps,
    async embed(id, req, signal) {
      // Resolving waits on a settings read, and an indexing job sends a request every few ms:
      // on the path of every request it cost a median 2-3 ms, p90 15 ms (the Library's indexing
      // bench). So the slot resolved for the previous call is used at once and a fresh one
      // resolved behind it for the next: a settings change applies from the call after next.
      const fresh = slot(id, "embed", "compute embeddings");
      fresh.catch(() => {}); // a refusal is reported by the call that uses it
      const cached = embedSlots.get(id);
      embedSlots.set(id, fresh);
      const { ctx, fn } = await (cached ? cached.catch(() => fresh) : fresh);
      return await fn.call(ctx.provider.record.adapter, { ...ctx, signal }, req);
    },
    async loadModel(id, req, signal) {
      const { ctx, fn } = await slot(id, "loadModel", "load models on request", signal);
      try {
        return await fn.call(ctx.provider.record.adapter, ctx, req);
      } finally {
        store.invalidate(ctx.provider.baseUrl);
      }
    },
    async unloadModel(id, req, signal) {
      const { ctx, fn } = await slot(id, "unloadModel", "unload models on request", signal);
      try {
        await fn.call(ctx.provider.record.adapter, ctx, req);
      } finally {
        store.invalidate(ctx.provider.baseUrl);
      }
    },
  };
}

const SERVICES = new WeakMap<object, ProviderService>();

/**
 * The one service for an app context: routes, research runs and the gateway all call this, so they
 * share one status cache, one model store and one idle watcher without threading the service through every factory.
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
