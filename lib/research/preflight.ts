/**
 * Pre-flight: before a run starts, how much context will it need, and does the loaded model have
 * it? Local research fails most often on the context window (LM Studio loads 4096 by default), so
 * the Research form asks here first and offers the reload before starting, instead of the run
 * failing three steps in. The same sizing gives the one-click fix when a step does overflow.
 *
 * Estimates (tokens, with the budget module's safety margin): the question, the planned source
 * passages (`search.max_sources` of about `PASSAGE_TARGET` characters each when a source is on),
 * the findings a detailed report quotes, plus room for the answer. They are deliberately rough:
 * the runner still budgets every real prompt; this only decides whether to warn.
 */
import { AppError } from "../http/errors.ts";
import type { ProviderService } from "../providers/service.ts";
import type { ModelAction, ModelInfo } from "../providers/types.ts";
import type { ResearchRequest, RunSettings } from "./schema.ts";
import { resolveTarget } from "./target.ts";
import { canLoadOn, contextAction, estimateNeed } from "./context_fix.ts";

/** The pre-flight verdict for a run. */
export interface PreflightResult {
  fits: boolean;
  /** Estimated context the run's largest step needs. */
  needed: number;
  /** The context the run would get (loaded, or the setting when the server does not say). */
  contextWindow: number;
  contextSource: "server" | "setting";
  model: string;
  /** Whether the model is loaded now. */
  loaded: boolean;
  maxContextLength: number | null;
  /** What the form shows. */
  message: string;
  /** The one-click fix (LM Studio 0.4+), when there is one. */
  action?: ModelAction;
  /** How to fix it by hand (every server). */
  hint?: string;
}

/** The pre-flight verdict for `req` (the same checks `POST /api/research` makes, then sizing). */
export async function preflight(
  providers: ProviderService,
  req: ResearchRequest,
): Promise<PreflightResult> {
  const s = (await providers.streamDeps()).settings;
  let target: RunSettings;
  try {
    target = await resolveTarget(providers, req, s);
  } catch (e) {
    // "Load it first" is a verdict the form shows with its action, not a failure of the check.
    const action = e instanceof AppError ? e.extra.action as ModelAction | undefined : undefined;
    if (!action || !(e instanceof AppError)) throw e;
    return {
      fits: false,
      needed: estimateNeed(req.query, req.mode, s),
      contextWindow: 0,
      contextSource: "setting",
      model: action.model,
      loaded: false,
      maxContextLength: null,
      message: e.message,
      action,
    };
  }
  const provider = await providers.resolve(target.provider);
  let info: ModelInfo | null = null;
  try {
    info = (await providers.models(provider.record.id)).models.find((m) => m.id === target.model) ??
      null;
  } catch { /* sized without the list */ }
  const needed = estimateNeed(req.query, req.mode, s, target.maxTokens);
  const base = {
    needed,
    contextWindow: target.contextWindow,
    contextSource: target.contextSource,
    model: target.model,
    loaded: info?.state === "loaded",
    maxContextLength: info?.maxContextLength ?? null,
  };
  if (needed <= target.contextWindow) {
    return {
      ...base,
      fits: true,
      message:
        `Fits: this run needs about ${needed} tokens of ${target.model}'s ${target.contextWindow}.`,
    };
  }
  const fix = contextAction(
    provider,
    info,
    target.model,
    needed,
    await canLoadOn(providers, provider),
  );
  return {
    ...base,
    fits: false,
    message: fix.fits
      ? `This run needs about ${needed} tokens, but ${target.model} has ${target.contextWindow}: it would fail or cut its sources. ${
        fix.action ? `Load it with ${fix.contextLength} first.` : fix.hint
      }`
      : `This run needs about ${needed} tokens, more than ${target.model} can hold (${fix.contextLength}): run a quick research, or turn sources down.`,
    hint: fix.hint,
    ...(fix.action ? { action: fix.action } : {}),
  };
}
