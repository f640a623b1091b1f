/**
 * Loading and unloading LM Studio models on behalf of the API and of research runs ("reload and
 * continue"): validates against a fresh model list (unknown model, context above the model's
 * maximum, not a whole number → 400 with the bound), refuses LM Studio before 0.4 with its typed
 * error, and hands the load to the one job manager, so every caller of one app shares jobs.
 */
import { z } from "zod";
import type { AppContext } from "../context.ts";
import { AppError } from "../http/errors.ts";
import { ProviderError } from "./errors.ts";
import { needsLmStudio04 } from "./lmstudio_load.ts";
import { createLoadManager, type LoadJob, type LoadManager } from "./model_loads.ts";
import { type ProviderService, providerServiceFor } from "./service.ts";
import type { ModelInfo, ResolvedProvider } from "./types.ts";

/** `POST …/load` body (contextLength's range is checked against the model's maximum). */
export const LoadRequestSchema = z.strictObject({
  model: z.string({ error: "Name the model to load" }).trim().min(1, "Name the model to load")
    .max(512, "Model ids are at most 512 characters"),
  contextLength: z.number({ error: "contextLength must be a whole number of tokens" }),
});

/** `POST …/unload` body. */
export const UnloadRequestSchema = z.strictObject({
  instanceId: z.string({ error: "Name the instance to unload" }).trim().min(
    1,
    "Name the instance to unload",
  ).max(512, "Instance ids are at most 512 characters"),
});

/** What routes and the research service use. */
export interface ModelAdmin {
  readonly loads: LoadManager;
  /** Starts (or joins) a load; throws `AppError` (400/409) or `ProviderError` (upstream). */
  load(model: string, contextLength: unknown): Promise<{ job: LoadJob; joined: boolean }>;
  /** Unloads one instance; throws `AppError` (404) or `ProviderError`. */
  unload(instanceId: string): Promise<{ instanceId: string; model: ModelInfo | null }>;
}

function bad(key: string, message: string, extra: Record<string, unknown> = {}): AppError {
  return new AppError(400, "validation", message, { issues: [{ key, message }], ...extra });
}

/** The checks before a load: the model exists and `contextLength` is a whole number in range. */
export function checkLoad(
  models: ModelInfo[],
  model: string,
  contextLength: unknown,
): { info: ModelInfo; contextLength: number } {
  const info = models.find((m) => m.id === model);
  if (!info) {
    const known = models.map((m) => m.id).slice(0, 12).join(", ");
    throw bad("model", `LM Studio has no model "${model}"${known ? `; it has ${known}` : ""}`);
  }
  const max = info.maxContextLength;
  const bound = { min: 1, max };
  const range = max ? `from 1 to ${max} (${model}'s max_context_length)` : "of at least 1";
  if (
    typeof contextLength !== "number" || !Number.isInteger(contextLength) || contextLength < 1 ||
    (max !== null && contextLength > max)
  ) {
    throw bad("contextLength", `contextLength must be a whole number ${range}`, { bound });
  }
  return { info, contextLength };
}

async function freshModels(
  service: ProviderService,
  provider: ResolvedProvider,
): Promise<ModelInfo[]> {
  const list = await service.models("lmstudio", { fresh: true });
  if (list.source !== "lmstudio-v1") {
    throw new ProviderError(needsLmStudio04(provider, `${provider.baseUrl}/api/v1/models/load`));
  }
  return list.models;
}

/** Builds the admin over the provider service. */
export function createModelAdmin(
  ctx: Pick<AppContext, "now" | "config" | "shutdown">,
  service: ProviderService,
): ModelAdmin {
  // Loads stop *waiting* only at shutdown: LM Studio cannot cancel one, so no request owns it.
  const loads = createLoadManager({
    now: ctx.now,
    inContainer: ctx.config.inContainer,
    load: (_p, model, contextLength) =>
      service.loadModel("lmstudio", { model, contextLength }, ctx.shutdown),
    unload: (_p, model, instanceId) =>
      service.unloadModel("lmstudio", { model, instanceId }, ctx.shutdown),
    models: async () => (await service.models("lmstudio", { fresh: true })).models,
  });
  return {
    loads,
    async load(model, contextLength) {
      const provider = await service.resolve("lmstudio");
      const running = loads.running(provider, model);
      if (running) {
        if (running.contextLength !== contextLength) {
          throw new AppError(
            409,
            "conflict",
            `${model} is already being loaded with ${running.contextLength} tokens of context; wait for that load, then reload`,
            { contextLength: running.contextLength },
          );
        }
        return { job: running, joined: true };
      }
      const checked = checkLoad(await freshModels(service, provider), model, contextLength);
      return loads.start(provider, checked.info, checked.contextLength);
    },
    async unload(instanceId) {
      const provider = await service.resolve("lmstudio");
      const models = await freshModels(service, provider);
      const owner = models.find((m) => m.instances?.some((i) => i.id === instanceId));
      if (!owner) {
        throw new AppError(404, "not_found", `LM Studio has no loaded instance "${instanceId}"`);
      }
      await service.unloadModel("lmstudio", { model: owner.id, instanceId }, ctx.shutdown);
      const after = (await service.models("lmstudio", { fresh: true })).models;
      return { instanceId, model: after.find((m) => m.id === owner.id) ?? null };
    },
  };
}

const ADMINS = new WeakMap<object, ModelAdmin>();

/** The one admin of an app context (one set of load jobs for routes and research runs). */
export function modelAdminFor(ctx: AppContext): ModelAdmin {
  let admin = ADMINS.get(ctx);
  if (!admin) {
    admin = createModelAdmin(ctx, providerServiceFor(ctx));
    ADMINS.set(ctx, admin);
  }
  return admin;
}
