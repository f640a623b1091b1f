/**
 * The front door, as Hono middleware: secure headers on every response, then the DNS-rebinding
 * host check, the cross-site (CSRF) check, the JSON-only rule for state-changing API calls, the
 * access token, and the body size cap. The decisions live in lib/http/security.ts; this file only
 * applies them, in an order where the cheapest refusal comes first and no body is read before
 * the caller is known.
 */
import { appErrorResponse } from "../lib/gateway/openai_error.ts";
import type { Context, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { getCookie } from "hono/cookie";
import type { AppContext } from "../lib/context.ts";
import {
  BODY_TIMEOUT_MS,
  bodyTimeout,
  BodyTimeoutError,
  setBodyDeadline,
  withReadDeadline,
} from "../lib/http/body.ts";
import { AppError } from "../lib/http/errors.ts";
import {
  bearerToken,
  bodyLimitFor,
  crossSiteReason,
  CSP,
  isAllowedHost,
  isApiPath,
  isGatewayPath,
  isJsonContentType,
  isMultipartContentType,
  isOpenPath,
  isSecured,
  isStateChanging,
  isUploadPath,
  MAX_BODY,
  MAX_GATEWAY_BODY,
  MAX_UPLOAD_BODY,
  printable,
  SECURE_HEADERS,
  sessionCookieName,
  tokensEqual,
  verifySessionCookie,
} from "../lib/http/security.ts";

/** The one hot route: the gateway's chat completions (routes/gateway.ts). */
const GATEWAY_CHAT = "/v1/chat/completions";

export { CSP };

/** The `Host` a request addressed: the header, or the URL's authority when there is none (HTTP/2, tests). */
export function requestHost(c: Context): string {
  return c.req.header("host") ?? new URL(c.req.url).host;
}

/**
 * The refusal in the API's error shape; under /v1 in OpenAI's error format with OpenAI's type
 * names (`authentication_error` for 401), so OpenAI SDKs pointed at the gateway report it like any
 * OpenAI error.
 */
function errorJson(c: Context, error: AppError, headers: Record<string, string> = {}): Response {
  if (isGatewayPath(c.req.path)) return appErrorResponse(error, headers);
  return c.json(error.toBody(), error.status as 400, headers);
}

/**
 * Whether the request proves knowledge of the access token: "ok" (right bearer token or a valid
 * session cookie), "wrong" (a bearer token that is not it), "missing" (neither; an expired or
 * forged cookie counts as none, so the browser is simply sent to sign in again).
 */
export function isAuthenticated(ctx: AppContext, c: Context): "ok" | "missing" | "wrong" {
  const token = ctx.config.accessToken;
  const bearer = bearerToken(c.req.header("authorization") ?? null);
  if (bearer !== null) return tokensEqual(bearer, token) ? "ok" : "wrong";
  const cookie = getCookie(c, sessionCookieName(requestHost(c)));
  if (cookie === undefined) return "missing";
  return verifySessionCookie(token, cookie, ctx.now()) ? "ok" : "missing";
}

/**
 * The client's address for per-client limits: the socket's peer as Deno reports it (behind a
 * reverse proxy that is the proxy). Requests made without a socket (tests) share one name.
 */
export function clientAddress(c: Context): string {
  const info = c.env as Deno.ServeHandlerInfo<Deno.NetAddr> | undefined;
  return info?.remoteAddr?.hostname ?? "local";
}

/** 429 for an address that guessed wrong too often (lib/http/throttle.ts). */
export function throttled(c: Context, retryAfterSeconds: number): Response {
  return errorJson(
    c,
    new AppError(
      429,
      "too_many_requests",
      `Too many wrong access tokens from this address; try again in ${retryAfterSeconds} s`,
      { retryAfter: retryAfterSeconds },
    ),
    { "retry-after": String(retryAfterSeconds) },
  );
}

/** The middleware chain, outermost first; app.ts installs it before any route. */
export function securityMiddleware(ctx: AppContext): MiddlewareHandler[] {
  // Outermost: every response leaves with the secure headers, whatever answered it.
  const headers: MiddlewareHandler = async (c, next) => {
    await next();
    // The hot /v1 answers come with these headers already (lib/http/security.ts securedResponse).
    if (isSecured(c.res)) return;
    // A handler may return a Response with immutable headers (fetch(), Response.redirect());
    // copy it so the headers below can be set.
    try {
      c.res.headers.delete("x-powered-by");
    } catch {
      c.res = new Response(c.res.body, c.res);
    }
    const h = c.res.headers;
    // Appending what is absent validates each value once; `set` would also search and delete.
    for (const [name, value] of SECURE_HEADERS) {
      if (h.has(name)) h.set(name, value);
      else h.append(name, value);
    }
    if (isApiPath(c.req.path)) h.set("cache-control", "no-store");
  };

  // The host check's answer for each Host value seen (a pure function of it and the policy).
  const hostPolicy = { allowedHosts: ctx.config.allowedHosts, boundHost: ctx.config.host };
  const hostAnswers = new Map<string, boolean>();
  const allowedHost = (host: string): boolean => {
    let ok = hostAnswers.get(host);
    if (ok === undefined) {
      ok = isAllowedHost(host, hostPolicy);
      if (hostAnswers.size >= 64) hostAnswers.clear(); // bounded: many names only cost recomputing
      hostAnswers.set(host, ok);
    }
    return ok;
  };

  // The checks below answer a refusal, or null to go on: one middleware runs them in order.
  const hostCheck = (c: Context, host: string): Response | null => {
    if (!allowedHost(host)) {
      return errorJson(
        c,
        new AppError(
          403,
          "forbidden",
          `Requests for host "${
            printable(host, 80)
          }" are refused (DNS-rebinding protection). Open deepstudio through localhost or 127.0.0.1, or allow this name with --allowed-hosts (DEEPSTUDIO_ALLOWED_HOSTS)`,
        ),
      );
    }
    return null;
  };

  const crossSite = (c: Context, host: string): Response | null => {
    const reason = crossSiteReason({
      method: c.req.method,
      host,
      origin: c.req.header("origin") ?? null,
      secFetchSite: c.req.header("sec-fetch-site") ?? null,
    });
    if (reason !== null) {
      return errorJson(
        c,
        new AppError(
          403,
          "forbidden",
          `Cross-site ${
            printable(c.req.method, 16)
          } refused: ${reason}, not from deepstudio's own pages. Behind a reverse proxy, forward the original Host header`,
        ),
      );
    }
    return null;
  };

  const jsonOnly = (c: Context): Response | null => {
    const type = c.req.header("content-type");
    if (
      isApiPath(c.req.path) && isStateChanging(c.req.method) && type !== undefined &&
      !isJsonContentType(type) &&
      !(c.req.method === "POST" && isUploadPath(c.req.path) && isMultipartContentType(type))
    ) {
      return errorJson(
        c,
        new AppError(
          415,
          "unsupported_media_type",
          `Send the body as JSON with "Content-Type: application/json" (got ${
            printable(type.split(";")[0].trim(), 60) || "an empty type"
          })`,
        ),
      );
    }
    return null;
  };

  const auth = (c: Context): Response | null => {
    if (ctx.config.accessToken === "" || isOpenPath(c.req.path)) return null;
    // A presented bearer token is a guess like a sign-in: throttled per address.
    const address = clientAddress(c);
    const guessing = c.req.header("authorization") !== undefined;
    if (guessing) {
      const allowed = ctx.signIn.check(address);
      if (!allowed.ok) return throttled(c, allowed.retryAfterSeconds);
    }
    const state = isAuthenticated(ctx, c);
    if (state === "wrong") ctx.signIn.failed(address);
    if (state === "ok") {
      if (guessing) ctx.signIn.succeeded(address);
      return null;
    }
    if (!isApiPath(c.req.path) && !isStateChanging(c.req.method)) {
      const target = c.req.path + new URL(c.req.url).search;
      return c.redirect(`/login?next=${encodeURIComponent(target)}`, 303);
    }
    const wrong = state === "wrong";
    return errorJson(
      c,
      new AppError(
        401,
        "unauthorized",
        wrong
          ? "The access token is wrong; send the one deepstudio was started with (--access-token or DEEPSTUDIO_ACCESS_TOKEN)"
          : "This deepstudio needs its access token: send Authorization: Bearer <token>, or sign in at /login",
      ),
      {
        "www-authenticate": wrong
          ? 'Bearer realm="deepstudio", error="invalid_token"'
          : 'Bearer realm="deepstudio"',
      },
    );
  };

  const tooLarge = (c: Context, limit: number) =>
    errorJson(
      c,
      new AppError(
        413,
        "payload_too_large",
        `The request body is larger than ${limit / 1024} KiB`,
      ),
    );
  const bodyTimeoutMs = ctx.config.bodyTimeoutMs ?? BODY_TIMEOUT_MS;
  // One bodyLimit per cap `bodyLimitFor` can return, keyed by that cap.
  const capOf = (max: number) => bodyLimit({ maxSize: max, onError: (c) => tooLarge(c, max) });
  const limits = new Map([MAX_BODY, MAX_UPLOAD_BODY, MAX_GATEWAY_BODY].map((m) => [m, capOf(m)]));
  const sizeCap: MiddlewareHandler = (c, next) => {
    const limit = bodyLimitFor(c.req.path);
    // Deno hands GET/HEAD handlers no body, so bodyLimit would not see one; the declared size
    // still says what the client tried to send.
    if (Number(c.req.header("content-length") ?? 0) > limit) {
      return Promise.resolve(tooLarge(c, limit));
    }
    if (c.req.method === "POST" && c.req.path === GATEWAY_CHAT) {
      // The gateway's chat handler reads its body through lib/http/body.ts's readers alone, which
      // enforce this cap (MAX_GATEWAY_BODY, chunked bodies included) and this deadline
      // themselves: no wrapped stream, no second Request, per request. Routes that may leave a
      // body unread keep bodyLimit, which reads and caps it here. The deadline is set without
      // asking for `req.body`: that getter turns a body Deno already holds whole into a stream,
      // which `req.bytes()` (lib/http/body.ts readDeclared) would then read chunk by chunk.
      setBodyDeadline(c.req.raw, bodyTimeoutMs);
      return next();
    }
    const capped = limits.get(limit) ?? limits.get(MAX_BODY)!;
    // The body gets a deadline before anything reads it (bodyLimit reads chunked ones here);
    // uploads of documents may be large, so they get ten times as long.
    let deadline: ReturnType<typeof withReadDeadline> | null = null;
    if (c.req.raw.body) {
      const ms = limit === MAX_UPLOAD_BODY ? bodyTimeoutMs * 10 : bodyTimeoutMs;
      deadline = withReadDeadline(c.req.raw.body, ms);
      c.req.raw = new Request(c.req.raw, { body: deadline.body, duplex: "half" } as RequestInit);
    }
    // bodyLimit reads chunked bodies itself; a body that breaks off is the client's fault (400),
    // not ours. Anything thrown after the body was read belongs to the handlers: rethrown.
    let reached = false;
    return capped(c, () => {
      reached = true;
      return next();
    }).catch((e) => {
      if (reached) throw e;
      if (e instanceof BodyTimeoutError) {
        return errorJson(c, bodyTimeout(e), { connection: "close" });
      }
      return errorJson(
        c,
        new AppError(400, "bad_request", "The request body could not be read to its end"),
      );
    }).finally(() => deadline?.stop());
  };

  const checks: MiddlewareHandler = (c, next) => {
    const host = requestHost(c);
    const refusal = hostCheck(c, host) ?? crossSite(c, host) ?? jsonOnly(c) ?? auth(c);
    return refusal ? Promise.resolve(refusal) : sizeCap(c, next);
  };

  return [headers, checks];
}
