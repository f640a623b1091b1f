/**
 * The model side of "reload and continue": before a run resumes at the step that overflowed, make
 * sure its model is loaded with at least the asked context (through the one load-job manager, so
 * a reload the browser already started is joined, not repeated), and say which context window the
 * resumed steps are budgeted against. Also the advice on the error a run ends with: a
 * `token_limit` (or a model unloaded mid-run) carries the one-click action.
 */
import { AppError } from "../http/errors.ts";
import type { ModelAdmin } from "../providers/model_admin.ts";
import type { ProviderService } from "../providers/service.ts";
import { contextLabel, recommendedContext } from "../providers/context_advice.ts";
import type { UpstreamError } from "../providers/types.ts";
import { canLoadOn, withReloadAction } from "./context_fix.ts";
import type { RunSettings } from "./schema.ts";

/** `{reload: {model, contextLength}}` of a resume request. */
export interface ReloadRequest {
  model: string;
  contextLength: number;
}

/**
 * Loads (or reloads) the run's model with `reload.contextLength` unless it already has that much;
 * returns the settings the resumed run uses. Throws `AppError` (400 bad request, 502 upstream).
 */
export async function reloadForResume(
  deps: { providers: ProviderService; admin: ModelAdmin },
  settings: Pick<RunSettings, "provider" | "model">,
  reload: ReloadRequest,
): Promise<{ contextWindow: number; contextSource: "server" }> {
  const { providers, admin } = deps;
  if (reload.model !== settings.model) {
    throw new AppError(
      400,
      "validation",
      `This run uses ${settings.model}; reload that model (not ${reload.model}) to continue it`,
      { issues: [{ key: "reload.model", message: `Use ${settings.model}` }] },
    );
  }
  const provider = await providers.resolve(settings.provider);
  if (!(await canLoadOn(providers, provider))) {
    throw new AppError(
      400,
      "bad_request",
      `deepstudio cannot load models on ${provider.record.displayName} at ${provider.baseUrl}. ${
        provider.record.adapter.hints.context(reload.model, reload.contextLength)
      } Then resume without reload.`,
    );
  }
  const list = await providers.models(provider.record.id, { fresh: true });
  const info = list.models.find((m) => m.id === reload.model);
  const have = info?.state === "loaded" ? info.loadedContextLength ?? 0 : 0;
  if (have >= reload.contextLength) return { contextWindow: have, contextSource: "server" };
  const { job } = await admin.load(reload.model, reload.contextLength);
  const end = await job.result;
  if (end.type === "error") {
    throw new AppError(502, "upstream", `The reload failed: ${end.error.message}`, {
      upstream: end.error,
    });
  }
  return { contextWindow: end.contextLength, contextSource: "server" };
}

/**
 * The error a run ends with, plus its one-click fix: a `token_limit` gets the sized reload action
 * (LM Studio 0.4+) and a hint naming the size; a model that vanished mid-run (`model_not_found`)
 * gets the Load action with the size a research run needs. Other errors are returned as they are.
 */
export async function adviseRunError(
  providers: ProviderService,
  error: UpstreamError,
  settings: Pick<RunSettings, "model" | "maxTokens">,
): Promise<UpstreamError> {
  if (error.kind === "token_limit") {
    return await withReloadAction(providers, error, settings.model, settings.maxTokens);
  }
  if (error.kind !== "model_not_found") return error;
  const provider = await providers.resolve(error.provider);
  if (!(await canLoadOn(providers, provider))) return error;
  const info = (await providers.models(provider.record.id)).models.find((m) =>
    m.id === settings.model
  );
  if (!info) return error;
  const contextLength = recommendedContext(info.maxContextLength);
  return {
    ...error,
    action: {
      type: "load",
      model: settings.model,
      contextLength,
      label: `Load ${settings.model} with ${
        contextLabel(contextLength)
      } tokens of context and continue`,
    },
  };
}
