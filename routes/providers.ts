/**
 * `/api/providers`: the providers with their URLs, availability, connection tests on unsaved
 * values, and model lists. Upstream failures come back as 502 with the typed error
 * (docs/providers.md, "Errors") in the usual error shape:
 * `{"error":{"kind","title","message","hint",...}}`.
 */
import { Hono } from "./hono.ts";
import { z } from "zod";
import type { AppContext } from "../lib/context.ts";
import { readJsonObject } from "../lib/http/body.ts";
import { notFound, validationError } from "../lib/http/errors.ts";
import { parseInput } from "../lib/http/validate.ts";
import { ProviderError, toUpstreamError } from "../lib/providers/errors.ts";
import { isProviderId, PROVIDERS } from "../lib/providers/records.ts";
import { type ProviderService, providerServiceFor } from "../lib/providers/service.ts";
import type { ProviderId, UpstreamError } from "../lib/providers/types.ts";
import { normalizeBaseUrl } from "../lib/providers/url.ts";

const TestInput = z.strictObject({
  url: z.string().max(2048).optional(),
  apiKey: z.string().max(4096).refine(
    (v) => !/[\r\n]/.test(v),
    "API keys cannot contain line breaks",
  )
    .nullable().optional(),
});

const ModelsQuery = z.object({
  type: z.enum(["chat", "all"]).optional(),
  fresh: z.enum(["1", "true", "0", "false"]).optional(),
});

function providerId(id: string): ProviderId {
  if (!isProviderId(id)) {
    throw notFound(`Unknown provider "${id}"; use one of ${Object.keys(PROVIDERS).join(", ")}`);
  }
  return id;
}

function upstreamResponse(error: UpstreamError): Response {
  return Response.json({ error }, { status: 502 });
}

/** The providers API. */
export function providerRoutes(
  ctx: AppContext,
  service: ProviderService = providerServiceFor(ctx),
) {
  return new Hono()
    .get("/", async (c) => {
      const providers = await service.list();
      if (c.req.query("status") !== "1" && c.req.query("status") !== "true") {
        return c.json({ providers });
      }
      // Each probe is bounded by its own 1 s timeout; a dead provider never delays another.
      const statuses = await Promise.all(providers.map((p) => service.status(p.id)));
      return c.json({ providers: providers.map((p, i) => ({ ...p, status: statuses[i] })) });
    })
    .get("/:id/status", async (c) => {
      const id = providerId(c.req.param("id"));
      return c.json(await service.status(id, { fresh: c.req.query("fresh") === "1" }));
    })
    .post("/:id/test", async (c) => {
      const id = providerId(c.req.param("id"));
      const input = parseInput(TestInput, await readJsonObject(c.req.raw));
      const record = PROVIDERS[id];
      let url = input.url ?? "";
      if (record.urlSetting) {
        const normalized = normalizeBaseUrl(url);
        if (!normalized.ok) {
          throw validationError(`Invalid request: url: ${normalized.message}`, [
            { key: "url", message: normalized.message },
          ]);
        }
        url = normalized.base;
      }
      return c.json(await service.test(id, url, input.apiKey));
    })
    .get("/:id/models", async (c) => {
      const id = providerId(c.req.param("id"));
      const query = parseInput(ModelsQuery, c.req.query(), "query");
      try {
        const list = await service.models(id, {
          type: query.type ?? "all",
          signal: c.req.raw.signal,
          fresh: query.fresh === "1" || query.fresh === "true",
        });
        return c.json(list);
      } catch (e) {
        if (e instanceof ProviderError) return upstreamResponse(e.error);
        const provider = await service.resolve(id);
        return upstreamResponse(
          toUpstreamError(e, provider, {
            url: `${provider.apiBase}/models`,
            inContainer: ctx.config.inContainer,
          }),
        );
      }
    });
}
