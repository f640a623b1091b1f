/**
 * Builds the whole application from its dependencies. Tests call `createApp({ kv }).request(...)`
 * or serve it on port 0; main.ts serves it for real. Nothing here reads globals.
 */
import { Hono } from "./routes/hono.ts";
import { HTTPException } from "hono/http-exception";
import { type AppConfig } from "./lib/config.ts";
import type { AppContext, AppDeps } from "./lib/context.ts";
import { appErrorResponse } from "./lib/gateway/openai_error.ts";
import { AppError } from "./lib/http/errors.ts";
import { isGatewayPath } from "./lib/http/security.ts";
import { createSignInThrottle } from "./lib/http/throttle.ts";
import { createUpstreamClient } from "./lib/providers/http1_client.ts";
import { readEnvOverrides } from "./lib/settings/env.ts";
import { createSettingsStore } from "./lib/settings/store.ts";
import { VERSION } from "./lib/version.ts";
import { gatewayRoutes } from "./routes/gateway.ts";
import { healthRoutes } from "./routes/health.ts";
import {
  AUTH_ROUTES,
  type LazyRoute,
  lazyRoutes,
  LIBRARY_PAGE_ROUTES,
  LIBRARY_ROUTES,
  MODEL_ROUTES,
  PAGE_ROUTES,
  PREFLIGHT_ROUTES,
  PROVIDER_ROUTES,
  RESEARCH_ROUTES,
  SEARCH_ROUTES,
  SOURCES_ROUTES,
  wantsPage,
} from "./routes/lazy.ts";
import { openapiRoutes } from "./routes/openapi.ts";
import { resumeLibraryAtStart, resumeResearchAtStart } from "./routes/resume_at_start.ts";
import { securityMiddleware } from "./routes/security.ts";
import { settingsRoutes } from "./routes/settings.ts";

const DEFAULT_CONFIG: AppConfig = {
  host: "127.0.0.1",
  port: 5000,
  kvPath: ":memory:",
  allowedHosts: [],
  accessToken: "",
  inContainer: false,
};

/** Raised when the environment holds invalid `LDR_*` values; main.ts prints it and exits. */
export class ConfigError extends Error {}

/** Resolves deps into the shared context (settings store, defaults for clock and fetch). */
export function createContext(deps: AppDeps): AppContext {
  const overrides = readEnvOverrides(deps.env ?? {});
  if (overrides.errors.length) {
    throw new ConfigError(
      `Invalid settings in the environment:\n  ${overrides.errors.join("\n  ")}`,
    );
  }
  const now = deps.now ?? (() => Date.now());
  const log = deps.log ?? (() => {});
  return {
    kv: deps.kv,
    config: { ...DEFAULT_CONFIG, ...deps.config },
    // Only a KV the caller says is `:memory:` is this process's alone (no per-read KV check).
    settings: createSettingsStore(deps.kv, overrides, {
      exclusive: deps.config?.kvPath === ":memory:",
    }),
    fetch: deps.fetch ?? globalThis.fetch.bind(globalThis),
    now,
    shutdown: deps.shutdown ?? new AbortController().signal,
    // Kept-alive connections close at `deps.shutdown`; without one, each stream has its own.
    upstream: deps.upstream ?? deps.fetch ??
      createUpstreamClient({
        fallback: globalThis.fetch.bind(globalThis),
        env: deps.env,
        shutdown: deps.shutdown,
      }),
    log,
    version: VERSION,
    signIn: deps.signIn ?? createSignInThrottle(now, log),
  };
}

function errorResponse(err: unknown, log: (m: string) => void, gateway: boolean): Response {
  let appError: AppError;
  if (err instanceof AppError) appError = err;
  else if (err instanceof HTTPException) {
    appError = new AppError(
      err.status,
      err.status === 413 ? "payload_too_large" : "bad_request",
      err.message || "Bad request",
    );
  } else {
    log(`Unexpected error: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
    appError = new AppError(
      500,
      "internal",
      "Something went wrong inside deepstudio; the details are in its log",
    );
  }
  // A 408 leaves the body unread: close the connection rather than wait for the rest of it.
  const headers: Record<string, string> = appError.status === 408 ? { connection: "close" } : {};
  if (gateway) return appErrorResponse(appError, headers);
  return Response.json(appError.toBody(), { status: appError.status, headers });
}

/** The application. */
export function createApp(deps: AppDeps): Hono {
  const ctx = createContext(deps);
  const app = new Hono();
  // Before every route: secure headers, host/CSRF/token checks, body cap (routes/security.ts).
  for (const mw of securityMiddleware(ctx)) app.use(mw);

  // The assets (the built islands, the stylesheet: ~0.6 MB of text) load with the first page
  // or /static request, not at start-up.
  app.get("/static/:file", async (c) => {
    const asset = (await import("./lib/assets.ts")).ASSETS.get(c.req.path);
    if (!asset) throw new AppError(404, "not_found", `No asset at ${c.req.path}`);
    return c.body(asset.body, 200, {
      "content-type": asset.type,
      "cache-control": "public, max-age=31536000, immutable",
    });
  });
  app.route("/v1", gatewayRoutes(ctx));
  app.route("/api/health", healthRoutes(ctx));
  app.route("/api/openapi.json", openapiRoutes(ctx, () => app.routes));
  app.route("/api/settings", settingsRoutes(ctx));
  // Every /api route file below loads on its first request (routes/lazy.ts): start-up carries
  // what /v1 needs (docs/benchmarks.md, "Where the idle memory and the start-up time go").
  /** Mounts a route file that loads on its first request at `base` (routes/lazy.ts). */
  const lazy = (base: string, routes: readonly LazyRoute[], load: () => Promise<Hono>) =>
    app.route(base, lazyRoutes(base, routes, load));
  lazy(
    "/api/providers/lmstudio/models",
    MODEL_ROUTES,
    async () => (await import("./routes/models.ts")).modelRoutes(ctx),
  );
  lazy(
    "/api/providers",
    PROVIDER_ROUTES,
    async () => (await import("./routes/providers.ts")).providerRoutes(ctx),
  );
  // The research code loads on its first request (routes/lazy.ts), or at start-up when a run
  // is unfinished: resumeResearchAtStart recovers it then.
  lazy(
    "/api/research/preflight",
    PREFLIGHT_ROUTES,
    async () => (await import("./routes/preflight.ts")).preflightRoutes(ctx),
  );
  lazy(
    "/api/research",
    RESEARCH_ROUTES,
    async () => (await import("./routes/research.ts")).researchRoutes(ctx),
  );
  lazy(
    "/api/research",
    SOURCES_ROUTES,
    async () => (await import("./routes/sources.ts")).sourcesRoutes(ctx),
  );
  resumeResearchAtStart(ctx).catch((e) =>
    ctx.log(`could not check for unfinished research runs: ${e}`)
  );
  lazy(
    "/api",
    LIBRARY_ROUTES,
    async () => (await import("./routes/library.ts")).libraryRoutes(ctx),
  );
  resumeLibraryAtStart(ctx).catch((e) => ctx.log(`library: ${e}`));
  lazy(
    "/api/search",
    SEARCH_ROUTES,
    async () => (await import("./routes/search.ts")).searchRoutes(ctx),
  );
  // The pages load their components and the SSR renderer on first request (routes/lazy.ts).
  lazy(
    "/library",
    LIBRARY_PAGE_ROUTES,
    async () => (await import("./routes/library_pages.tsx")).libraryPageRoutes(ctx),
  );
  lazy("/", AUTH_ROUTES, async () => (await import("./routes/auth.tsx")).authRoutes(ctx));
  lazy("/", PAGE_ROUTES, async () => (await import("./routes/pages.tsx")).pageRoutes(ctx));

  app.notFound(async (c) => {
    if (isGatewayPath(c.req.path)) {
      return appErrorResponse(
        new AppError(404, "not_found", `deepstudio's OpenAI-compatible API has no ${c.req.path}`),
      );
    }
    const allowed = app.routes.filter((r) => r.path === c.req.path && r.method !== "ALL").map((r) =>
      r.method
    );
    if (allowed.length) {
      return c.json(
        new AppError(
          405,
          "method_not_allowed",
          `${c.req.method} is not allowed here; use ${[...new Set(allowed)].join(", ")}`,
        ).toBody(),
        405,
        { allow: [...new Set(allowed)].join(", ") },
      );
    }
    // A person who mistyped a page gets a page; API clients keep the JSON error shape.
    if (wantsPage(c.req.raw)) {
      const { notFoundPage } = await import("./routes/pages.tsx");
      return c.html(notFoundPage(c.req.path), 404);
    }
    return c.json(new AppError(404, "not_found", `Nothing at ${c.req.path}`).toBody(), 404);
  });
  app.onError((err, c) => errorResponse(err, ctx.log, isGatewayPath(c.req.path)));
  return app;
}
