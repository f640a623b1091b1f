/**
 * The adapter contract: one object per server family (`lmstudio.ts`, `llamacpp.ts`, `ollama.ts`,
 * `openai_compatible.ts`) holding everything that differs between families: how models are
 * listed, how the server is recognised, the hints a person reads, and optional capabilities
 * (embeddings, loading and unloading models). Code outside the adapters asks the adapter
 * (`provider.record.adapter`), never `record.id === "…"`. Adding a provider is one adapter file
 * (or an existing one reused) plus one record in `records.ts`. ARCHITECTURE.md, "Provider
 * adapters", shows how to plug into the optional slots.
 */
import type { HttpDeps, JsonAnswer } from "./http.ts";
import type { ChatStream } from "./prepare.ts";
import type { FamilyUi } from "./ui_text.ts";
import type { ModelInfo, ModelSource, ResolvedProvider } from "./types.ts";

/** The server families deepstudio knows; also what the status probe reports as `server`. */
export type Family = "lmstudio" | "llamacpp" | "ollama" | "openai-compatible";

/** A normalised model list and the route it came from. */
export interface ModelList {
  models: ModelInfo[];
  source: ModelSource;
}

/** What an adapter's listing gets: a bounded GET with the provider's key, already resolved. */
export interface ListContext {
  provider: ResolvedProvider;
  deps: HttpDeps;
  /** GETs `url` within the listing's remaining time budget; throws `ProviderError` on failure. */
  get(url: string): Promise<JsonAnswer>;
  /** POSTs `body` as JSON within the same budget (Ollama's `/api/show`). */
  post(url: string, body: unknown): Promise<JsonAnswer>;
}

/** The texts a person reads when something goes wrong, in the family's own words. */
export interface FamilyHints {
  /** The server cannot be reached: how to start it. */
  start(provider: ResolvedProvider): string;
  /** 401/403: where the key comes from. */
  auth(provider: ResolvedProvider): string;
  /** The prompt does not fit the loaded context: how to get a bigger one. */
  tokenLimit: string;
  /**
   * How to get a context of `tokens` for `model` by hand: one sentence naming the exact option
   * (`llama-server -c N`, Ollama's num_ctx, LM Studio's Context Length, …).
   */
  context(model: string, tokens: number): string;
  /** The model named is not there or not loaded. */
  modelNotFound: string;
  /** The server answers but lists no model. */
  noModels: string;
  /** The Status page's checklist and the Research page's status line (plain JSON, slots). */
  ui: FamilyUi;
}

/** An embeddings request (filled by the Library's embedding step). */
export interface EmbedRequest {
  model: string;
  /** Texts to embed, in order; the answer keeps this order. */
  input: string[];
  /**
   * Called once the answer's head is in (the server has computed it), before its body is read and
   * parsed; not sent to the server. A caller bounding the requests inside the server
   * (lib/library/embedder.ts) sends its next one then, so the server computes while this answer
   * is read and parsed.
   */
  received?: () => void;
  /**
   * The caller takes float32 vectors (the Library's index stores them): a large answer may then
   * be parsed off the main thread and come back as `Float32Array`s (lib/providers/embed_parse.ts).
   * Without it the vectors are always the answer's numbers as they were.
   */
  float32?: boolean;
}

/** Vectors in the order of `EmbedRequest.input`. */
export interface EmbedResult {
  model: string;
  vectors: number[][] | Float32Array[];
  /** Tokens the server counted, when it said. */
  promptTokens?: number;
}

/** Loading a model with the context the work needs (LM Studio's native API). */
export interface LoadModelRequest {
  model: string;
  /** Context length to load with; the server's default when absent. */
  contextLength?: number;
}

/** What a load produced. */
export interface LoadModelResult {
  model: string;
  /** The server's handle for the loaded instance, when it has one. */
  instanceId?: string;
  /** The context the model was loaded with, when the server said. */
  contextLength: number | null;
  /** How long the server says the load took (ms). */
  loadTimeMs?: number | null;
}

/** Unloading one model (or one instance of it). */
export interface UnloadModelRequest {
  model: string;
  instanceId?: string;
}

/** Per-call dependencies of the optional slots: HTTP plus the caller's cancellation. */
export interface SlotContext {
  deps: HttpDeps;
  provider: ResolvedProvider;
  signal?: AbortSignal;
}

/** One server family. Required members are behaviour every family has; slots are optional. */
export interface ProviderAdapter {
  family: Family;
  /** The model list, ladder of native routes included; throws `ProviderError`. */
  listModels(ctx: ListContext): Promise<ModelList>;
  /**
   * A cheap check run beside the status probe that says "this is certainly my family" (LM Studio's
   * greeting). Absent: the family is recognised from the `/v1/models` body alone.
   */
  confirm?(deps: HttpDeps, provider: ResolvedProvider, opts: {
    signal?: AbortSignal;
    timeoutMs: number;
  }): Promise<boolean>;
  /** True when a `/v1/models` answer looks like this family's server (any configured provider). */
  recognizes?(body: { data?: unknown; models?: unknown }): boolean;
  hints: FamilyHints;
  /**
   * True when, with `stream_options.include_usage`, the server moves fields off the finish chunk
   * onto the usage chunk (llama.cpp moves `timings`): the /v1 gateway, which injects that option,
   * then puts them back where the client would have found them.
   */
  movesFinishFieldsToUsage?: boolean;
  /** Embeddings; absent when the family has no embeddings route deepstudio uses. */
  embed?(ctx: SlotContext, req: EmbedRequest): Promise<EmbedResult>;
  /** Loads a model; absent when the family cannot load on request. */
  loadModel?(ctx: SlotContext, req: LoadModelRequest): Promise<LoadModelResult>;
  /** Unloads a model; absent when the family cannot unload on request. */
  unloadModel?(ctx: SlotContext, req: UnloadModelRequest): Promise<void>;
  /**
   * Whether a request for `model`, listed but not loaded, would be served (LM Studio: true when
   * just-in-time loading is on); null when the server cannot tell. Absent: assume it would.
   */
  servesUnloaded?(ctx: SlotContext, model: string): Promise<boolean | null>;
  /**
   * True when the server loads a listed-but-not-loaded model on the first request for it (LM
   * Studio's just-in-time loading): the UI then says a picked model "loads when the run starts".
   */
  jit?: boolean;
  /**
   * The family's own completion stream (LM Studio's native chat, which reports loading and
   * prompt progress), with `streamChat`'s event contract; absent: plain `/v1` via `streamChat`.
   */
  streamChat?: ChatStream;
}
