/**
 * The provider module's contract: what routes, research runs and the /v1 gateway rely on.
 * Providers are data (`ProviderRecord`) plus small functions over it; every upstream failure
 * becomes one `UpstreamError` (docs/providers.md, "Errors"); every stream yields `StreamEvent`s.
 */
import type { ProviderId } from "../settings/schema.ts";
import type { ProviderAdapter } from "./adapter.ts";

export type { ProviderId };

/** A provider as data (docs/providers.md, "Settings" and "Models"). */
export interface ProviderRecord {
  id: ProviderId;
  displayName: string;
  /** Setting key holding the base URL, or null for a fixed URL (OpenAI cloud). */
  urlSetting: string | null;
  /** Setting key holding the API key. */
  apiKeySetting: string;
  /** Base URL when nothing is configured. */
  defaultUrl: string;
  local: boolean;
  /** Whether listing models needs a key (OpenAI cloud). */
  modelsNeedKey: boolean;
  /** Key sent when none is configured (LM Studio: "not-required"), or null to send none. */
  placeholderKey: string | null;
  /** The server family's behaviour: listing, recognition, hints, optional slots. */
  adapter: ProviderAdapter;
}

/** A provider ready to call: the record plus the current URL and key from settings. */
export interface ResolvedProvider {
  record: ProviderRecord;
  /** Canonical base (origin plus any proxy prefix, no /v1), docs/providers.md, "Server URLs". */
  baseUrl: string;
  /** `<base>/v1`. */
  apiBase: string;
  /** The key to send (configured, else placeholder), never logged. */
  apiKey: string | null;
  /** True when a real key is configured. */
  keySet: boolean;
}

/** The kinds of upstream failure (docs/providers.md, "Errors", lists each with its title). */
export type UpstreamErrorKind =
  | "connection"
  | "timeout"
  | "token_limit"
  | "rate_limit"
  | "authentication"
  | "model_not_found"
  | "bad_request"
  | "server_error"
  | "cancelled";

/** One typed upstream failure: what happened, where, and what to do. */
export interface UpstreamError {
  kind: UpstreamErrorKind;
  /** Short title, e.g. "LLM Connection Error". */
  title: string;
  /** Names the provider's display name and the actual URL used. */
  message: string;
  /** What to do next. */
  hint: string;
  provider: ProviderId;
  url: string;
  /** Upstream HTTP status when there was one. */
  status?: number;
  /** Seconds to wait (429 retry-after). */
  retryAfter?: number;
  /** Token counts for token_limit when the server said them. */
  promptTokens?: number;
  contextLength?: number;
  /** In a container with a loopback URL: the URL to use instead (docs/providers.md, "Docker"). */
  suggestedUrl?: string;
  /** Set when the server lacks an API deepstudio needs for this (LM Studio before 0.4). */
  needs?: "lmstudio-0.4";
  /** A one-click fix the UI can offer (e.g. reload the model with a larger context). */
  action?: ModelAction;
}

/**
 * A fix deepstudio can carry out for the person: load or reload `model` with `contextLength`
 * tokens of context (LM Studio 0.4+), or, when even the model's maximum is too small, a shorter
 * run instead. `label` is the button text.
 */
export type ModelAction =
  | { type: "reload" | "load"; model: string; contextLength: number; label: string }
  | { type: "shorten"; model: string; maxContextLength: number | null; label: string };

/** Normalised model record (docs/providers.md, "Models"). */
export interface ModelInfo {
  id: string;
  displayName: string;
  type: "llm" | "vlm" | "embedding";
  state: "loaded" | "loading" | "not-loaded" | "unknown";
  loadedContextLength: number | null;
  maxContextLength: number | null;
  quantization: string | null;
  arch: string | null;
  capabilities: { tools: boolean; vision: boolean; reasoning: boolean };
  /** Loaded instances with their context (LM Studio 0.4+; a model may be loaded twice). */
  instances?: { id: string; contextLength: number | null }[];
}

/** Where a model list came from. */
export type ModelSource = "lmstudio-v1" | "lmstudio-v0" | "openai" | "llamacpp" | "ollama";

/** Availability states (docs/providers.md, "Availability"), in the order the API lists them. */
export const PROVIDER_STATES = [
  "available",
  "unreachable",
  "timeout",
  "wrong_path",
  "auth_required",
  "no_models",
] as const;

/** One of `PROVIDER_STATES`. */
export type ProviderState = typeof PROVIDER_STATES[number];

/** The status probe's answer. */
export interface ProviderStatus {
  id: ProviderId;
  state: ProviderState;
  /** Server kind when identified: "lmstudio", "llamacpp", "ollama", "openai-compatible", or null. */
  server: string | null;
  latencyMs: number;
  modelCount: number | null;
  baseUrl: string;
  error?: UpstreamError;
  /** What to do next (empty when available). */
  hint: string;
  /**
   * True when deepstudio runs in a container, the URL points at loopback and nothing could be
   * reached there (docs/providers.md, "Docker"): the loopback is the container's own.
   */
  dockerLoopback?: boolean;
}

/** A chat message. */
export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

/** A completion request as deepstudio makes it (settings already applied by the caller or filled in). */
export interface ChatRequest {
  provider?: ProviderId;
  model?: string;
  messages: ChatMessage[];
  temperature?: number;
  maxTokens?: number;
  /** Overrides `llm.top_k` (null: do not send). */
  topK?: number | null;
  /** Overrides `llm.repetition_penalty`, sent as `repeat_penalty` (null: do not send). */
  repeatPenalty?: number | null;
  /** Overrides `llm.streaming`. */
  stream?: boolean;
}

/** Token usage as the server reported it. */
export interface Usage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
}

/** Measurements of one stream. */
export interface StreamMetrics {
  /** ms from request start to the first content (or reasoning) token. */
  ttftMs: number | null;
  /** completion tokens per second after the first token. */
  tokensPerSecond: number | null;
  usage: Usage | null;
  /** The model that actually answered (the server may ignore the requested one). */
  model: string | null;
  requestedModel: string | null;
  durationMs: number;
  /** ms the server spent loading the model for this request (LM Studio's native chat). */
  loadTimeMs?: number | null;
  /** Which route answered: LM Studio's native `/api/v1/chat` or OpenAI's `/v1`. */
  api?: "native" | "openai";
}

/** What a stream yields, in order: (waiting)* (reasoning|delta)* usage? then done or error. */
export type StreamEvent =
  | {
    type: "waiting";
    /** connecting: nothing known yet; loading: the server loads the model; prompt: reading it. */
    phase: "connecting" | "loading" | "prompt";
    elapsedMs: number;
    /** 0..1 when the server reports progress (LM Studio's native chat). */
    progress?: number;
    /** The model being loaded. */
    model?: string;
  }
  | { type: "delta"; text: string }
  | { type: "reasoning"; text: string }
  | { type: "model"; model: string; requested: string | null }
  | { type: "usage"; usage: Usage }
  | { type: "done"; finishReason: string | null; metrics: StreamMetrics }
  | { type: "error"; error: UpstreamError; metrics: StreamMetrics };
