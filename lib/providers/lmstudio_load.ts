/**
 * LM Studio 0.4+'s model loading on the wire: `POST /api/v1/models/load` and
 * `POST /api/v1/models/unload` (docs/lmstudio_native_api.md). Same auth, URL rules and typed
 * errors as every other call; 0.3.x (the 200 "Unexpected endpoint" body, or a proxy's 404)
 * becomes a typed "needs LM Studio 0.4 or later" error whose hint says how to do it in the app.
 *
 * A load blocks until LM Studio is done (seconds to minutes) and cannot be cancelled on LM
 * Studio's side, so callers pass a signal only to stop *waiting*; the load timeout is generous.
 */
import type {
  LoadModelRequest,
  LoadModelResult,
  SlotContext,
  UnloadModelRequest,
} from "./adapter.ts";
import { errorFromHttp, ProviderError } from "./errors.ts";
import { getJson, type HttpDeps, type JsonAnswer } from "./http.ts";
import type { ResolvedProvider, UpstreamError } from "./types.ts";

/** Longest a load may take before deepstudio stops waiting (LM Studio may still finish it). */
export const LOAD_TIMEOUT_MS = 15 * 60_000;
/** Unloading is quick. */
export const UNLOAD_TIMEOUT_MS = 30_000;

/** A finished load as LM Studio reported it. */
export interface LoadResult {
  instanceId: string;
  /** ms LM Studio says the load took. */
  loadTimeMs: number | null;
  /** The loaded context, when LM Studio echoed its config. */
  contextLength: number | null;
}

/** Load options (`ttl` in seconds: LM Studio unloads after that much idle time). */
export interface LoadOptions {
  contextLength?: number;
  ttl?: number;
  signal?: AbortSignal;
  timeoutMs?: number;
}

type Json = Record<string, unknown>;

function isMissingRoute(answer: JsonAnswer): boolean {
  const error = (answer.json as { error?: unknown } | undefined)?.error;
  const unexpected = typeof error === "string" && /unexpected endpoint/i.test(error);
  return unexpected || (answer.status === 404 && answer.json === undefined);
}

/** The typed error for LM Studio without the v1 API (0.3.x). */
export function needsLmStudio04(
  provider: ResolvedProvider,
  url: string,
  model?: string,
  contextLength?: number,
): UpstreamError {
  return {
    kind: "bad_request",
    title: "Needs LM Studio 0.4 or later",
    message:
      `LM Studio at ${provider.baseUrl} has no model-loading API (${url} is missing): it is older than 0.4`,
    hint: `Update LM Studio to 0.4 or later to load models from deepstudio. Until then: ${
      provider.record.adapter.hints.context(model ?? "<model>", contextLength ?? 32768)
    }`,
    provider: provider.record.id,
    url,
    needs: "lmstudio-0.4",
  };
}

function failure(
  answer: JsonAnswer,
  provider: ResolvedProvider,
  deps: HttpDeps,
  model?: string,
  contextLength?: number,
): ProviderError | null {
  if (isMissingRoute(answer)) {
    return new ProviderError(needsLmStudio04(provider, answer.url, model, contextLength));
  }
  const json = answer.json as Json | undefined;
  if (answer.status >= 200 && answer.status < 300 && json && !("error" in json)) return null;
  return new ProviderError(
    errorFromHttp(answer.status, json ?? answer.text, answer.headers, provider, {
      url: answer.url,
      inContainer: deps.inContainer,
    }),
  );
}

/** Loads `model` (with `contextLength` when given); throws `ProviderError`. */
export async function loadModel(
  deps: HttpDeps,
  provider: ResolvedProvider,
  model: string,
  opts: LoadOptions = {},
): Promise<LoadResult> {
  const url = `${provider.baseUrl}/api/v1/models/load`;
  const body: Json = { model, echo_load_config: true };
  if (opts.contextLength !== undefined) body.context_length = opts.contextLength;
  if (opts.ttl !== undefined) body.ttl = opts.ttl;
  const answer = await getJson(deps, provider, url, {
    body,
    signal: opts.signal,
    timeoutMs: opts.timeoutMs ?? LOAD_TIMEOUT_MS,
  });
  const err = failure(answer, provider, deps, model, opts.contextLength);
  if (err) throw err;
  const json = answer.json as Json;
  // Older 0.4 documentation: `model_instance_id` and `config`; current: `instance_id`, `load_config`.
  const id = json.instance_id ?? json.model_instance_id;
  const config = (json.load_config ?? json.config ?? {}) as Json;
  const seconds = json.load_time_seconds;
  return {
    instanceId: typeof id === "string" ? id : model,
    loadTimeMs: typeof seconds === "number" ? Math.round(seconds * 1000) : null,
    contextLength: typeof config.context_length === "number" ? config.context_length : null,
  };
}

/** Unloads one instance; throws `ProviderError`. */
export async function unloadModel(
  deps: HttpDeps,
  provider: ResolvedProvider,
  instanceId: string,
  opts: { signal?: AbortSignal; timeoutMs?: number } = {},
): Promise<void> {
  const url = `${provider.baseUrl}/api/v1/models/unload`;
  const answer = await getJson(deps, provider, url, {
    body: { instance_id: instanceId },
    signal: opts.signal,
    timeoutMs: opts.timeoutMs ?? UNLOAD_TIMEOUT_MS,
  });
  const err = failure(answer, provider, deps);
  if (err) throw err;
}

/** The adapter's `loadModel` slot. */
export async function loadLmStudioModel(
  ctx: SlotContext,
  req: LoadModelRequest,
): Promise<LoadModelResult> {
  const r = await loadModel(ctx.deps, ctx.provider, req.model, {
    contextLength: req.contextLength,
    signal: ctx.signal,
  });
  return {
    model: req.model,
    instanceId: r.instanceId,
    contextLength: r.contextLength,
    loadTimeMs: r.loadTimeMs,
  };
}

/** The adapter's `unloadModel` slot (the first instance's id is the model key). */
export async function unloadLmStudioModel(
  ctx: SlotContext,
  req: UnloadModelRequest,
): Promise<void> {
  await unloadModel(ctx.deps, ctx.provider, req.instanceId ?? req.model, { signal: ctx.signal });
}
