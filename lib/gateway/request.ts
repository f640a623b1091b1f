/**
 * Turns an OpenAI chat request from any client into the one deepstudio forwards: which provider
 * (an id prefix such as `llamacpp/` routes elsewhere), which model (filled in when absent, by the
 * provider module's rule), `max_tokens` capped to 80 % of the effective context (or removed when
 * `llm.supports_max_tokens` is off), and `include_usage` added to streams. Every other field is
 * passed through as the client sent it: the gateway does not know better than the client which
 * sampling options a server supports.
 */
import { notConfiguredError, toUpstreamError } from "../providers/errors.ts";
import type { ModelStore } from "../providers/model_store.ts";
import { capMaxTokens, effectiveContextWindow, modelFor } from "../providers/models.ts";
import { isProviderId, servingAdapter } from "../providers/records.ts";
import { resolveProvider } from "../providers/resolve.ts";
import { prepareChat } from "../providers/stream.ts";
import type { ProviderId, ResolvedProvider, UpstreamError } from "../providers/types.ts";
import type { Settings } from "../settings/schema.ts";
import { preview } from "../http/json_guard.ts";
import { type GatewayError, invalidRequest } from "./openai_error.ts";
import type { RequestClock } from "./timing.ts";

/** What planning needs: the provider module's HTTP deps and its one model store. */
export interface PlanDeps {
  fetch: typeof fetch;
  now: () => number;
  inContainer: boolean;
  /** Read without waiting (`known`) on the hot path; `list` only when nothing recent is known. */
  models: ModelStore;
  /** Monotonic ms clock for the Server-Timing split. */
  perfNow: () => number;
}

/** A request ready to forward. */
export interface ChatPlan {
  provider: ResolvedProvider;
  /** `<base>/v1/chat/completions`. */
  url: string;
  /** The JSON body to send. */
  body: string;
  model: string;
  stream: boolean;
  /** True when we added `include_usage` and must hide the usage chunk again. */
  stripUsage: boolean;
  /** True when the server moves finish-chunk fields (llama.cpp's `timings`) onto that chunk. */
  restoreFinishFields: boolean;
  /** Idle timeout between upstream bytes (`llm.request_timeout`). */
  timeoutMs: number;
}

/** The outcome of planning: a plan, our own refusal, or a typed upstream failure. */
export type PlanResult =
  | { ok: true; plan: ChatPlan }
  | { ok: false; error: GatewayError }
  | { ok: false; upstream: UpstreamError };

type Json = Record<string, unknown>;

const TOKEN_FIELDS = ["max_tokens", "max_completion_tokens"] as const;

/** Checks the fields the gateway reads; the rest is the upstream's business. */
export function validateChat(body: Json): GatewayError | null {
  if (!("messages" in body) || body.messages === undefined || body.messages === null) {
    return missing("messages");
  }
  if (!Array.isArray(body.messages)) {
    return invalidRequest(
      "Invalid type for 'messages': expected an array of messages.",
      "messages",
    );
  }
  if (body.model !== undefined && body.model !== null && typeof body.model !== "string") {
    return invalidRequest("Invalid type for 'model': expected a string.", "model");
  }
  if (body.stream !== undefined && body.stream !== null && typeof body.stream !== "boolean") {
    return invalidRequest("Invalid type for 'stream': expected a boolean.", "stream");
  }
  const so = body.stream_options;
  if (so !== undefined && so !== null && (typeof so !== "object" || Array.isArray(so))) {
    return invalidRequest(
      "Invalid type for 'stream_options': expected an object.",
      "stream_options",
    );
  }
  for (const field of TOKEN_FIELDS) {
    const v = body[field];
    if (v === undefined || v === null) continue;
    if (typeof v !== "number" || !Number.isInteger(v) || v < 1) {
      return invalidRequest(
        `Invalid '${field}': expected a whole number of at least 1, got ${preview(v)}.`,
        field,
      );
    }
  }
  return null;
}

function missing(param: string): GatewayError {
  const e = invalidRequest(`Missing required parameter: '${param}'.`, param);
  e.body.error.code = "missing_required_parameter";
  return e;
}

/** Where a `model` value sends the request: an id prefix names another provider. */
export interface ModelRoute {
  providerId: ProviderId;
  /** The model id for that provider ("" when the prefix stood alone, `undefined` when absent). */
  model: string | undefined;
  /** True when the id carried a provider prefix that was taken off. */
  prefixed: boolean;
}

/**
 * Splits `llamacpp/tiny-random` into provider and model. Only a known provider id counts as a
 * prefix, so `google/gemma-…` stays a model id; an id the active provider itself lists (LM Studio
 * has `openai/gpt-oss-20b`) is checked by the caller before the prefix is believed.
 */
export function routeModel(model: string | undefined, active: ProviderId): ModelRoute {
  const slash = model?.indexOf("/") ?? -1;
  if (model === undefined || slash <= 0) return { providerId: active, model, prefixed: false };
  const prefix = model.slice(0, slash);
  if (!isProviderId(prefix)) return { providerId: active, model, prefixed: false };
  return { providerId: prefix, model: model.slice(slash + 1).trim(), prefixed: true };
}

/** Providers resolved per settings object (the store hands out one object until a write). */
const resolvedBySettings = new WeakMap<Settings, Map<ProviderId, ResolvedProvider>>();

/**
 * `resolveProvider`, once per provider and settings object: it parses and normalises the base
 * URL, which every request would otherwise repeat for the same settings.
 */
export function providerFor(settings: Settings, id: ProviderId): ResolvedProvider {
  let byId = resolvedBySettings.get(settings);
  if (!byId) resolvedBySettings.set(settings, byId = new Map());
  let provider = byId.get(id);
  if (!provider) byId.set(id, provider = resolveProvider(settings, id));
  return provider;
}

function listTimeout(settings: Settings): number {
  return Math.min(5000, settings["llm.request_timeout"] * 1000);
}

function typed(e: unknown, provider: ResolvedProvider, deps: PlanDeps, url: string) {
  return toUpstreamError(e, provider, { url, inContainer: deps.inContainer });
}

/**
 * Plans one chat request. `body` is the client's parsed JSON object and is modified in place (it
 * is serialised once, here). Waits for a model list only when the model must be defaulted, when
 * a provider prefix must be told apart from a model id, or when no recent list is known.
 */
export async function planChat(
  deps: PlanDeps,
  settings: Settings,
  body: Json,
  opts: { signal: AbortSignal; clock: RequestClock },
): Promise<PlanResult> {
  // `opts.signal` is read only where planning waits: lib/gateway/gateway.ts passes a getter that
  // makes the request's signal on first use (a signal costs Deno a cancel watch per request).
  const { clock } = opts;
  /** Awaits an upstream call, booking its time as upstream wait. */
  const upstream = async <T>(p: Promise<T>): Promise<T> => {
    const t = deps.perfNow();
    try {
      return await p;
    } finally {
      clock.upstream += deps.perfNow() - t;
    }
  };
  const invalid = validateChat(body);
  if (invalid) return { ok: false, error: invalid };
  const active = settings["llm.provider"];
  const requested = typeof body.model === "string" ? body.model.trim() : undefined;
  let route = routeModel(requested || undefined, active);
  const activeProvider = providerFor(settings, active);
  if (route.prefixed && requested) {
    // Is the whole id one of the active provider's own models? Then it is not a prefix.
    try {
      const list = deps.models.known(activeProvider) ??
        await upstream(
          deps.models.list(activeProvider, {
            signal: opts.signal,
            timeoutMs: listTimeout(settings),
          }),
        );
      if (list.models.some((m) => m.id === requested)) {
        route = { providerId: active, model: requested, prefixed: false };
      }
    } catch (e) {
      // Never send a prompt to a cloud provider on a guess.
      const target = providerFor(settings, route.providerId);
      if (!target.record.local && route.providerId !== active) {
        return { ok: false, upstream: typed(e, activeProvider, deps, activeProvider.apiBase) };
      }
    }
  }
  const provider = route.providerId === active
    ? activeProvider
    : providerFor(settings, route.providerId);
  const url = `${provider.apiBase}/chat/completions`;
  if (!provider.baseUrl) {
    return { ok: false, upstream: notConfiguredError(provider) };
  }
  if (provider.record.modelsNeedKey && !provider.keySet) {
    return {
      ok: false,
      upstream: toUpstreamError(null, provider, {
        url,
        inContainer: deps.inContainer,
        status: 401,
        body: { error: "No API key is set in deepstudio for this provider" },
      }),
    };
  }

  // The model: the client's, else llm.model (active provider only), else the provider's choice.
  let model = route.model || (route.prefixed ? "" : settings["llm.model"].trim());
  let contextWindow: number | null;
  if (!model) {
    try {
      const prepared = await upstream(prepareChat(
        {
          fetch: deps.fetch,
          now: deps.now,
          settings,
          inContainer: deps.inContainer,
          models: deps.models,
        },
        provider,
        { model: "", messages: [] },
        opts.signal,
      ));
      model = prepared.body.model;
      contextWindow = prepared.contextWindow;
    } catch (e) {
      return { ok: false, upstream: typed(e, provider, deps, url) };
    }
  } else {
    let list = deps.models.known(provider);
    if (!list) {
      try {
        list = await upstream(
          deps.models.list(provider, { signal: opts.signal, timeoutMs: listTimeout(settings) }),
        );
      } catch {
        // The server will say what is wrong when we forward; size by the settings meanwhile.
        if (opts.signal.aborted) {
          return { ok: false, upstream: typed(opts.signal.reason, provider, deps, url) };
        }
      }
    }
    contextWindow = effectiveContextWindow(settings, provider, modelFor(list, provider, model));
  }

  body.model = model;
  if (!settings["llm.supports_max_tokens"]) {
    for (const f of TOKEN_FIELDS) delete body[f];
  } else {
    let capped = false;
    for (const f of TOKEN_FIELDS) {
      if (typeof body[f] === "number") {
        body[f] = capMaxTokens(body[f] as number, contextWindow);
        capped = true;
      }
    }
    if (!capped) body.max_tokens = capMaxTokens(settings["llm.max_tokens"], contextWindow);
  }
  const stream = body.stream === true;
  let stripUsage = false;
  if (stream) {
    const so = (body.stream_options ?? null) as Json | null;
    if (so?.include_usage !== true) {
      body.stream_options = { ...so, include_usage: true };
      stripUsage = true;
    }
  }
  return {
    ok: true,
    plan: {
      provider,
      url,
      body: JSON.stringify(body),
      model,
      stream,
      stripUsage,
      restoreFinishFields: stripUsage &&
        !!servingAdapter(provider.record, deps.models.known(provider)?.source)
          .movesFinishFieldsToUsage,
      timeoutMs: settings["llm.request_timeout"] * 1000,
    },
  };
}
