/**
 * `/v1`: the OpenAI-compatible gateway (lib/gateway/). Point any OpenAI client at
 * `http://127.0.0.1:5000/v1` and it reaches the configured provider. Everything under this prefix
 * answers in OpenAI's error format, unknown paths and methods included.
 */
import { Hono } from "./hono.ts";
import type { AppContext } from "../lib/context.ts";
import { createGateway } from "../lib/gateway/gateway.ts";
import { providerServiceFor } from "../lib/providers/service.ts";

const ROUTES: Record<string, string[]> = {
  "/v1/models": ["GET"],
  "/v1/chat/completions": ["POST"],
};

/** The gateway routes, mounted at /v1. */
export function gatewayRoutes(ctx: AppContext) {
  const providers = providerServiceFor(ctx);
  const gateway = createGateway({
    fetch: ctx.fetch,
    upstream: ctx.upstream,
    now: ctx.now,
    perfNow: () => performance.now(),
    inContainer: ctx.config.inContainer,
    settings: async () => (await ctx.settings.get()).values,
    providers,
    models: providers.modelStore,
    idle: providers.idle,
    log: ctx.log,
  });
  return new Hono()
    .get("/models", (c) => gateway.models(c.req.raw))
    .get("/models/:id{.+}", (c) => gateway.model(c.req.raw, c.req.param("id")))
    .post("/chat/completions", (c) => gateway.chat(c.req.raw))
    .all("*", (c) => {
      const path = c.req.path.replace(/\/+$/, "");
      const allowed = ROUTES[path] ?? (path.startsWith("/v1/models/") ? ["GET"] : []);
      return gateway.unknown(c.req.raw, allowed);
    });
}
