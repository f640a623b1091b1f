/**
 * Checks, before anything starts, that a research request can run: the provider is configured
 * and reachable enough to pick a model, the model is a chat model the server knows, and (with no
 * model named) exactly one is loaded. Freezes the outcome as the run's settings, including the
 * context window its prompts are budgeted against.
 */
import { ProviderError } from "../providers/errors.ts";
import type { ProviderService } from "../providers/service.ts";
import { resolveProvider } from "../providers/resolve.ts";
import { prepareChat } from "../providers/stream.ts";
import type { Settings } from "../settings/schema.ts";
import type { ModelInfo, UpstreamError } from "../providers/types.ts";
import { AppError } from "../http/errors.ts";
import { answerBudget, estimatePromptTokens } from "./budget.ts";
import { estimateNeed, refuseUnservable } from "./context_fix.ts";
import { quickPrompt } from "./prompts.ts";
import type { ResearchRequest, RunSettings } from "./schema.ts";

function refuse(key: string, message: string, extra: Record<string, unknown> = {}): AppError {
  return new AppError(400, "validation", message, { issues: [{ key, message }], ...extra });
}

function upstream(error: UpstreamError): AppError {
  if (error.kind === "model_not_found") {
    return refuse("model", `${error.message}. ${error.hint}`.trim(), { upstream: error });
  }
  return new AppError(
    502,
    "upstream",
    `Nothing was started: ${error.message}. ${error.hint}`.trim(),
    { upstream: error },
  );
}

/**
 * The run settings for `req` under the settings snapshot `s` (the one the run then freezes), or
 * an `AppError` (400 or 502) that says what to do.
 */
export async function resolveTarget(
  providers: ProviderService,
  req: ResearchRequest,
  s: Settings,
): Promise<RunSettings> {
  const deps = { ...(await providers.streamDeps()), settings: s };
  const provider = resolveProvider(s, req.provider);
  const name = provider.record.displayName;
  let prepared;
  try {
    prepared = await prepareChat(deps, provider, {
      provider: provider.record.id,
      model: req.model || undefined,
      messages: [],
    });
  } catch (e) {
    if (e instanceof ProviderError) throw upstream(e.error);
    throw e;
  }
  const model = prepared.body.model;
  let all: ModelInfo[] | null = null;
  try {
    all = (await providers.models(provider.record.id)).models;
  } catch { /* no list: the model was named, the run will say if it is wrong */ }
  const info = all?.find((m) => m.id === model) ?? null;
  const chat = (all ?? []).filter((m) => m.type !== "embedding").map((m) => m.id);
  const offer = chat.length ? ` Chat models on ${name}: ${chat.slice(0, 8).join(", ")}.` : "";
  if (info?.type === "embedding") {
    throw refuse(
      "model",
      `${model} is an embedding model and cannot answer questions; pick a chat model.${offer}`,
    );
  }
  if (all && all.length && !info) {
    throw refuse("model", `${name} at ${provider.baseUrl} has no model "${model}".${offer}`);
  }
  await refuseUnservable(
    providers,
    provider,
    info,
    estimateNeed(req.query, req.mode, s, req.maxTokens ?? s["llm.max_tokens"]),
  );
  const contextWindow = prepared.contextWindow ?? s["llm.context_window_size"];
  const settings: RunSettings = {
    provider: provider.record.id,
    providerName: name,
    baseUrl: provider.baseUrl,
    model,
    modelChosen: !!(req.model || s["llm.model"]),
    temperature: req.temperature ?? s["llm.temperature"],
    maxTokens: req.maxTokens ?? s["llm.max_tokens"],
    contextWindow,
    contextSource: prepared.model?.loadedContextLength ? "server" : "setting",
  };
  const prompt = estimatePromptTokens(quickPrompt(req.query));
  if (answerBudget(prompt, { contextWindow, maxTokens: settings.maxTokens }) === null) {
    throw refuse(
      "query",
      `The question is about ${prompt} tokens; ${model}'s context of ${contextWindow} tokens leaves no room for an answer. Shorten it, or load the model with a larger context length.`,
    );
  }
  return settings;
}
