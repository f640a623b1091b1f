/**
 * What a completion will be before it is sent: which model (the request's, `llm.model`, or the
 * server's one loaded chat model), how large a context it must fit, and the exact JSON body.
 * Shared by `streamChat` and the /v1 gateway, so both default and cap the same way.
 */
import type { Settings } from "../settings/schema.ts";
import { type ErrorContext, noModelError, ProviderError, toUpstreamError } from "./errors.ts";
import type { IdleWatcher } from "./idle.ts";
import type { ModelStore } from "./model_store.ts";
import {
  capMaxTokens,
  chatModels,
  effectiveContextWindow,
  listModels,
  modelFor,
  type ModelList,
} from "./models.ts";
import type { ChatRequest, ModelInfo, ResolvedProvider, StreamEvent } from "./types.ts";

/** What `streamChat` needs from the app context. */
export interface StreamDeps {
  fetch: typeof fetch;
  now: () => number;
  settings: Settings;
  inContainer: boolean;
  /** The model store (the provider service passes its own); without one every call lists. */
  models?: ModelStore;
  /** The idle-timeout watcher (default: the process-wide one). */
  idle?: IdleWatcher;
  /** How often `waiting` events come while the first token has not arrived (default 2000 ms). */
  waitingIntervalMs?: number;
}

/**
 * One completion as a stream of events, the contract `streamChat` documents (`stream.ts`): the
 * generic `/v1` stream and a family's own (the adapter's `streamChat` slot) both have this type.
 */
export type ChatStream = (
  deps: StreamDeps,
  provider: ResolvedProvider,
  req: ChatRequest,
  signal: AbortSignal,
) => AsyncGenerator<StreamEvent, void, undefined>;

/** The request body deepstudio sends (exported for tests and the gateway). */
export interface ChatBody {
  model: string;
  messages: { role: string; content: string }[];
  temperature: number;
  stream: boolean;
  max_tokens?: number;
  top_k?: number;
  repeat_penalty?: number;
  stream_options?: { include_usage: boolean };
}

/** Options of the provider-side completion, resolved from the request and settings. */
export interface PreparedChat {
  body: ChatBody;
  /** The model entry the request will use, when the server listed it. */
  model: ModelInfo | null;
  contextWindow: number | null;
}

/**
 * Chooses the model and builds the body (docs/providers.md, "Completions"): model defaulting,
 * max_tokens capped to 80 % of the effective context window (omitted when `llm.supports_max_tokens`
 * is false), temperature, top_k / repeat_penalty only when set, include_usage for streams. Throws
 * `ProviderError`.
 */
export async function prepareChat(
  deps: StreamDeps,
  provider: ResolvedProvider,
  req: ChatRequest,
  signal?: AbortSignal,
): Promise<PreparedChat> {
  const s = deps.settings;
  const url = `${provider.apiBase}/chat/completions`;
  const ectx: ErrorContext = { url, inContainer: deps.inContainer };
  let model = (req.model ?? s["llm.model"] ?? "").trim();
  let list: ModelList | null = null;
  try {
    list = await listModels(deps, provider, {
      signal,
      timeoutMs: Math.min(5000, s["llm.request_timeout"] * 1000),
    });
  } catch (e) {
    const error = toUpstreamError(e, provider, ectx);
    // Without a list the request can still work when a model is named; a dead server cannot.
    if (
      !model || ["connection", "timeout", "authentication", "cancelled"].includes(error.kind)
    ) {
      throw new ProviderError(error);
    }
  }
  const chat = list ? chatModels(list.models) : [];
  const loaded = chat.filter((m) => m.state === "loaded");
  if (!model) {
    const candidates = loaded.length ? loaded : chat.filter((m) => m.state === "unknown");
    if (candidates.length !== 1) {
      throw new ProviderError(
        noModelError(provider, ectx, candidates.length ? candidates.map((m) => m.id) : []),
      );
    }
    model = candidates[0].id;
  }
  // LM Studio and llama.cpp answer with their one loaded model whatever is asked: size for it.
  const info = modelFor(list, provider, model);
  const contextWindow = effectiveContextWindow(s, provider, info);
  const stream = req.stream ?? s["llm.streaming"];
  const body: ChatBody = {
    model,
    messages: req.messages.map((m) => ({ role: m.role, content: m.content })),
    temperature: req.temperature ?? s["llm.temperature"],
    stream,
  };
  if (s["llm.supports_max_tokens"]) {
    body.max_tokens = capMaxTokens(req.maxTokens ?? s["llm.max_tokens"], contextWindow);
  }
  const topK = req.topK !== undefined ? req.topK : s["llm.top_k"];
  if (topK !== null && topK !== undefined) body.top_k = topK;
  const penalty = req.repeatPenalty !== undefined ? req.repeatPenalty : s["llm.repetition_penalty"];
  if (penalty !== null && penalty !== undefined) body.repeat_penalty = penalty;
  if (stream) body.stream_options = { include_usage: true };
  return { body, model: info, contextWindow };
}
