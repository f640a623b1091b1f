/**
 * The model side of "reload and continue": before a run resumes at the step that overflowed, make
 * sure its model is loaded with at least the asked context (through the one load-job manager, so
 * a reload the browser already started is joined, not repeated), and say which context window the
 * resumed steps are budgeted against. Also the error advice every LLM call of a run gets: a
 * `token_limit` (or a model unloaded mid-run) carries the one-click action.
 */
import { AppError } from "../http/errors.ts";
import type { ModelAdmin } from "../providers/model_admin.ts";
import type { ProviderService } from "../providers/service.ts";
import type { ChatRequest, StreamEvent } from "../providers/types.ts";
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
 * A run's completion stream with context advice: a `token_limit` error gets the sized reload
 * action (LM Studio 0.4+) and a hint naming the size; a model that vanished mid-run
 * (`model_not_found`) gets the Load action with the run's context. Other events pass unchanged.
 */
export async function* withContextAdvice(
  providers: ProviderService,
  events: AsyncIterable<StreamEvent>,
  request: ChatRequest,
  contextWindow: number,
): AsyncGenerator<StreamEvent, void, undefined> {
  for await (const ev of events) {
    if (ev.type !== "error" || !request.model) {
      yield ev;
      continue;
    }
    if (ev.error.kind === "token_limit") {
      const error = await withReloadAction(
        providers,
        ev.error,
        request.model,
        request.maxTokens ?? 2048,
      ).catch(() => ev.error);
      yield { ...ev, error };
    } else if (ev.error.kind === "model_not_found" && contextWindow > 0) {
      const provider = await providers.resolve(ev.error.provider).catch(() => null);
      const can = provider ? await canLoadOn(providers, provider) : false;
      yield can
        ? {
          ...ev,
          error: {
            ...ev.error,
            action: {
              type: "load",
              model: request.model,
              contextLength: contextWindow,
              label:
                `Load ${request.model} again with ${contextWindow} tokens of context and continue`,
            },
          },
        }
        : ev;
    } else yield ev;
  }
}
