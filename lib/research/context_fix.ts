/**
 * The fixes deepstudio offers when a model's loaded context is too small for a run: a sized
 * load/reload action (LM Studio 0.4+, through the adapter's `loadModel` slot), a "shorter run"
 * when even the model's maximum is too small, and the family's by-hand hint otherwise. Used by
 * the pre-flight check, by runs whose step overflowed (`token_limit` → action), and by the
 * up-front refusal of unloaded models when LM Studio's just-in-time loading is off.
 */
import { AppError } from "../http/errors.ts";
import {
  ANSWER_ROOM,
  contextLabel,
  fitContext,
  RECOMMENDED_RESEARCH_CONTEXT,
} from "../providers/context_advice.ts";
import type { ProviderService } from "../providers/service.ts";
import type {
  ModelAction,
  ModelInfo,
  ResolvedProvider,
  UpstreamError,
} from "../providers/types.ts";
import type { Settings } from "../settings/schema.ts";
import { PASSAGE_TARGET } from "../sources/passages.ts";
import { estimateTextTokens, MESSAGE_OVERHEAD } from "./budget.ts";

/** What a detailed run's report prompt carries per sub-question finding. */
export const FINDING_TOKENS = 600;
/** Sub-questions a detailed run plans at most. */
export const MAX_FINDINGS = 5;
/** System prompt and template framing of a step. */
const FRAMING = 300;

/** The largest step's estimated need for a run of `mode` on `query`. */
export function estimateNeed(
  query: string,
  mode: "quick" | "detailed",
  s:
    & Pick<Settings, "llm.max_tokens">
    & Partial<Pick<Settings, "search.engine" | "search.max_sources">>,
  maxTokens = s["llm.max_tokens"],
): number {
  const answer = Math.min(maxTokens, ANSWER_ROOM);
  const question = estimateTextTokens(query) + 2 * MESSAGE_OVERHEAD + FRAMING;
  const sourced = (s["search.engine"] ?? "none") !== "none";
  const passages = sourced
    ? (s["search.max_sources"] ?? 10) * (estimateTextTokens("x".repeat(PASSAGE_TARGET)) + 16)
    : 0;
  const step = question + passages + answer;
  if (mode === "quick") return step;
  return Math.max(step, question + MAX_FINDINGS * FINDING_TOKENS + answer);
}

/**
 * The fix for a context of `have` tokens that needs `needed`: reload (or load) with the smallest
 * standard size that fits, capped at the model's maximum, when the adapter can load models and the
 * server has the API; else `shorten` when even the maximum is too small. Null when no action fits
 * (a server deepstudio cannot load on: the hint says what to change).
 */
export function contextAction(
  provider: ResolvedProvider,
  info: Pick<ModelInfo, "id" | "maxContextLength" | "state"> | null,
  model: string,
  needed: number,
  canLoad: boolean,
): { action?: ModelAction; hint: string; contextLength: number; fits: boolean } {
  const max = info?.maxContextLength ?? null;
  const fit = fitContext(needed, max);
  const hint = provider.record.adapter.hints.context(model, fit.contextLength);
  if (!fit.fits) {
    return {
      hint,
      contextLength: fit.contextLength,
      fits: false,
      action: {
        type: "shorten",
        model,
        maxContextLength: max,
        label:
          `Even ${model}'s maximum of ${max} tokens is too small: run a shorter (quick) research instead`,
      },
    };
  }
  if (!canLoad) return { hint, contextLength: fit.contextLength, fits: true };
  const reload = info?.state === "loaded";
  return {
    hint,
    contextLength: fit.contextLength,
    fits: true,
    action: {
      type: reload ? "reload" : "load",
      model,
      contextLength: fit.contextLength,
      label: `${reload ? "Reload" : "Load"} ${model} with ${
        contextLabel(fit.contextLength)
      } tokens of context and continue`,
    },
  };
}

/** True when deepstudio can load models on this provider right now (LM Studio 0.4+). */
export async function canLoadOn(
  providers: ProviderService,
  provider: ResolvedProvider,
): Promise<boolean> {
  if (!provider.record.adapter.loadModel) return false;
  try {
    return (await providers.models(provider.record.id)).source === "lmstudio-v1";
  } catch {
    return false;
  }
}

/**
 * The reload action for a step that failed with `token_limit`: sized from the server's own
 * numbers (prompt tokens) plus the answer budget. The error comes back with `action` set (LM
 * Studio 0.4+) and a hint naming the size either way, so `/v1` clients get the same advice as text.
 */
export async function withReloadAction(
  providers: ProviderService,
  error: UpstreamError,
  model: string,
  maxTokens: number,
): Promise<UpstreamError> {
  if (error.kind !== "token_limit") return error;
  const provider = await providers.resolve(error.provider);
  let info: ModelInfo | null = null;
  try {
    info = (await providers.models(provider.record.id)).models.find((m) => m.id === model) ?? null;
  } catch { /* sized without the maximum */ }
  const prompt = error.promptTokens ?? (error.contextLength ? error.contextLength * 2 : 8192);
  const needed = prompt + Math.min(maxTokens, ANSWER_ROOM);
  const fix = contextAction(provider, info, model, needed, await canLoadOn(providers, provider));
  const advice = fix.fits
    ? `It needs about ${needed} tokens: a context of ${fix.contextLength} fits. ${fix.hint}`
    : `It needs about ${needed} tokens, more than ${model}'s maximum of ${fix.contextLength}, so no larger context length can hold it: shorten the input or run a quick research instead.`;
  return { ...error, hint: advice, ...(fix.action ? { action: fix.action } : {}) };
}

/**
 * With LM Studio's just-in-time loading off, a listed but unloaded model cannot answer: refuse
 * the run up front with "load it first" and the Load action (400, the `model` field), instead of
 * a 404 from LM Studio after the run started.
 */
export async function refuseUnservable(
  providers: ProviderService,
  provider: ResolvedProvider,
  info: ModelInfo | null,
  needed: number,
): Promise<void> {
  const serves = provider.record.adapter.servesUnloaded;
  if (!info || info.state !== "not-loaded" || !serves) return;
  const deps = await providers.streamDeps();
  if ((await serves({ deps, provider }, info.id)) !== false) return;
  const name = provider.record.displayName;
  const size = fitContext(Math.max(needed, RECOMMENDED_RESEARCH_CONTEXT), info.maxContextLength);
  const canLoad = await canLoadOn(providers, provider);
  const message =
    `${info.id} is not loaded and ${name}'s just-in-time loading is off: load it first${
      canLoad ? "" : ` (${provider.record.adapter.hints.context(info.id, size.contextLength)})`
    }`;
  throw new AppError(400, "validation", message, {
    issues: [{ key: "model", message }],
    ...(canLoad
      ? {
        action: {
          type: "load",
          model: info.id,
          contextLength: size.contextLength,
          label: `Load ${info.id} with ${contextLabel(size.contextLength)} tokens of context`,
        } satisfies ModelAction,
      }
      : {}),
  });
}
