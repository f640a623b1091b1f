/** `/api/settings`: read, patch (all-or-nothing), reset one key. */
import { Hono } from "./hono.ts";
import type { AppContext } from "../lib/context.ts";
import { readJsonObject } from "../lib/http/body.ts";
import { AppError, notFound } from "../lib/http/errors.ts";
import { isSettingKey } from "../lib/settings/schema.ts";
import type { PatchResult } from "../lib/settings/store.ts";
import { settingsView } from "../lib/settings/view.ts";

function patchOutcome(ctx: AppContext, result: PatchResult) {
  if (result.ok) return settingsView(result.settings, ctx.settings.envWarnings);
  const summary = result.issues.map((i) => `${i.key}: ${i.message}`).join("; ");
  if (result.kind === "locked") {
    throw new AppError(403, "locked", summary, { issues: result.issues });
  }
  if (result.kind === "conflict") {
    throw new AppError(409, "conflict", summary, { issues: result.issues });
  }
  throw new AppError(400, "validation", `Nothing was saved. ${summary}`, { issues: result.issues });
}

/** The settings API. */
export function settingsRoutes(ctx: AppContext) {
  return new Hono()
    .get("/", async (c) => c.json(settingsView(await ctx.settings.get(), ctx.settings.envWarnings)))
    .patch("/", async (c) => {
      const body = await readJsonObject(c.req.raw);
      return c.json(patchOutcome(ctx, await ctx.settings.patch(body)));
    })
    .delete("/:key", async (c) => {
      const key = c.req.param("key");
      if (!isSettingKey(key)) throw notFound(`Unknown setting "${key}"`);
      return c.json(patchOutcome(ctx, await ctx.settings.reset(key)));
    });
}
