/**
 * The OpenAI-compatible gateway (`/v1`): any OpenAI client pointed at deepstudio reaches the
 * configured provider with deepstudio's model choice, `max_tokens` cap, abort propagation, error
 * hints and timing applied. These functions take and return web `Request`/`Response` objects so
 * routes/gateway.ts stays a list of paths; everything the client sees is in OpenAI's format.
 */
import { AppError } from "../http/errors.ts";
import { readJsonObject } from "../http/body.ts";
import { MAX_GATEWAY_BODY } from "../http/security.ts";
import { ProviderError, toUpstreamError } from "../providers/errors.ts";
import type { IdleWatcher } from "../providers/idle.ts";
import type { ModelStore } from "../providers/model_store.ts";
import { resolveProvider } from "../providers/resolve.ts";
import type { ProviderService } from "../providers/service.ts";
import type { ModelInfo } from "../providers/types.ts";
import type { Settings } from "../settings/schema.ts";
import { fromAppError, type GatewayError, invalidRequest } from "./openai_error.ts";
import { errorResponse, relayChat } from "./relay.ts";
import { planChat } from "./request.ts";
import { type RequestClock, timingHeader } from "./timing.ts";

/** What the gateway needs from the app. */
export interface GatewayDeps {
  fetch: typeof fetch;
  /** Streamed chat requests (lib/providers/http1_client.ts); `fetch` when not given. */
  upstream?: typeof fetch;
  /** Wall clock in ms (model-list ages, shared with the provider module). */
  now: () => number;
  /** Monotonic clock in ms with sub-ms resolution (Server-Timing, idle timeout). */
  perfNow: () => number;
  inContainer: boolean;
  /** Current settings (the store caches them: no KV read per request). */
  settings: () => Promise<Settings>;
  providers: Pick<ProviderService, "models">;
  /** The provider module's one model store. */
  models: ModelStore;
  /** The provider module's one idle-timeout watcher. */
  idle: IdleWatcher;
  log: (message: string) => void;
}

/** The gateway's handlers. */
export interface Gateway {
  /** `GET /v1/models`. */
  models(req: Request): Promise<Response>;
  /** `GET /v1/models/{id}`. */
  model(req: Request, id: string): Promise<Response>;
  /** `POST /v1/chat/completions`. */
  chat(req: Request): Promise<Response>;
  /** Anything else under /v1: 404 or 405 in OpenAI's format. */
  unknown(req: Request, allowed: string[]): Response;
}

function json(e: GatewayError, clock: RequestClock, now: number): Response {
  return Response.json(e.body, {
    status: e.status,
    headers: { ...e.headers, "server-timing": timingHeader(clock, now) },
  });
}

function openAiModel(m: ModelInfo, owner: string) {
  return { id: m.id, object: "model", created: 0, owned_by: owner };
}

/** Builds the gateway. */
export function createGateway(deps: GatewayDeps): Gateway {
  const planDeps = deps;
  const relayDeps = deps;
  const clockNow = deps.perfNow;

  async function chatModels(req: Request, clock: RequestClock) {
    const settings = await deps.settings();
    const id = settings["llm.provider"];
    const t = clockNow();
    try {
      return { id, list: await deps.providers.models(id, { type: "chat", signal: req.signal }) };
    } finally {
      clock.upstream += clockNow() - t;
    }
  }

  async function listFailure(e: unknown, clock: RequestClock): Promise<Response> {
    if (e instanceof ProviderError) return errorResponse(e.error, clock, clockNow);
    const settings = await deps.settings();
    const provider = resolveProvider(settings);
    const error = toUpstreamError(e, provider, {
      url: `${provider.apiBase}/models`,
      inContainer: deps.inContainer,
    });
    return errorResponse(error, clock, clockNow);
  }

  return {
    async models(req) {
      const clock: RequestClock = { start: clockNow(), upstream: 0 };
      try {
        const { id, list } = await chatModels(req, clock);
        const body = { object: "list", data: list.models.map((m) => openAiModel(m, id)) };
        return Response.json(body, {
          headers: { "server-timing": timingHeader(clock, clockNow()) },
        });
      } catch (e) {
        return await listFailure(e, clock);
      }
    },

    async model(req, modelId) {
      const clock: RequestClock = { start: clockNow(), upstream: 0 };
      try {
        const { id, list } = await chatModels(req, clock);
        const found = list.models.find((m) => m.id === modelId);
        if (!found) {
          const e = invalidRequest(`The model '${modelId}' does not exist`, "model", 404);
          e.body.error.code = "model_not_found";
          return json(e, clock, clockNow());
        }
        return Response.json(openAiModel(found, id), {
          headers: { "server-timing": timingHeader(clock, clockNow()) },
        });
      } catch (e) {
        return await listFailure(e, clock);
      }
    },

    async chat(req) {
      const clock: RequestClock = { start: clockNow(), upstream: 0 };
      let body: Record<string, unknown>;
      try {
        body = await readJsonObject(req, MAX_GATEWAY_BODY);
      } catch (e) {
        const refusal = e instanceof AppError
          ? fromAppError(e)
          : invalidRequest(`Could not read the request body (${(e as Error).message})`);
        // A body that did not arrive in time is left unread: close rather than wait for it.
        if (refusal.status === 408) refusal.headers.connection = "close";
        return json(refusal, clock, clockNow());
      }
      const settings = await deps.settings();
      // Deno makes `req.signal` on first use, and each one costs a cancel watch (an op per
      // request): planning asks for it only when it has to wait, the relay once its request is
      // on its way upstream (lib/gateway/relay.ts), so it is not made before the send.
      let signal: AbortSignal | undefined;
      const clientSignal = () => signal ??= req.signal;
      const planned = await planChat(planDeps, settings, body, {
        get signal() {
          return clientSignal();
        },
        clock,
      });
      if (!planned.ok) {
        return "error" in planned
          ? json(planned.error, clock, clockNow())
          : errorResponse(planned.upstream, clock, clockNow);
      }
      return await relayChat(relayDeps, planned.plan, { clientSignal, madeSignal: signal, clock });
    },

    unknown(req, allowed) {
      const clock: RequestClock = { start: clockNow(), upstream: 0 };
      const path = new URL(req.url).pathname;
      if (allowed.length) {
        const e = invalidRequest(
          `${req.method} is not allowed on ${path}; use ${allowed.join(", ")}`,
          null,
          405,
        );
        e.headers.allow = allowed.join(", ");
        return json(e, clock, clockNow());
      }
      const e = invalidRequest(
        `deepstudio's OpenAI-compatible API has no ${path}; it serves GET /v1/models and POST /v1/chat/completions`,
        null,
        404,
      );
      e.body.error.type = "not_found_error";
      return json(e, clock, clockNow());
    },
  };
}
