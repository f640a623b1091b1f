/**
 * Errors on the /v1 gateway speak OpenAI's format, `{"error":{"message","type","code","param"}}`,
 * because the callers are OpenAI clients (SDKs, curl scripts, editors): they read `error.message`
 * and branch on the status. deepstudio's typed `UpstreamError` (docs/providers.md, "Errors") is
 * mapped here, with its hint appended to the message so the fix reaches a person who only sees the
 * client's error text.
 */
import type { AppError } from "../http/errors.ts";
import type { UpstreamError, UpstreamErrorKind } from "../providers/types.ts";

/** The body of an OpenAI error response. */
export interface OpenAiErrorBody {
  error: { message: string; type: string; code: string | null; param: string | null };
}

/** An error ready to send: status, body, extra headers. */
export interface GatewayError {
  status: number;
  body: OpenAiErrorBody;
  headers: Record<string, string>;
}

/** Status 499 ("client closed request"): never seen by anyone, used for bookkeeping only. */
export const CLIENT_CLOSED = 499;

const KINDS: Record<
  UpstreamErrorKind,
  { status: number; type: string; code: string | null; param: string | null }
> = {
  connection: { status: 502, type: "server_error", code: "upstream_unreachable", param: null },
  timeout: { status: 504, type: "server_error", code: "upstream_timeout", param: null },
  token_limit: {
    status: 400,
    type: "invalid_request_error",
    code: "context_length_exceeded",
    param: "messages",
  },
  rate_limit: { status: 429, type: "rate_limit_error", code: "rate_limit_exceeded", param: null },
  authentication: {
    status: 401,
    type: "authentication_error",
    code: "invalid_api_key",
    param: null,
  },
  model_not_found: {
    status: 404,
    type: "invalid_request_error",
    code: "model_not_found",
    param: "model",
  },
  bad_request: { status: 400, type: "invalid_request_error", code: null, param: null },
  server_error: { status: 502, type: "server_error", code: null, param: null },
  cancelled: { status: CLIENT_CLOSED, type: "server_error", code: "cancelled", param: null },
};

/** `message` then the hint, as one readable sentence pair. */
export function messageWithHint(message: string, hint: string): string {
  if (!hint) return message;
  const m = message.trimEnd();
  return `${m}${/[.!?…]$/.test(m) ? "" : "."} ${hint}`;
}

/**
 * The HTTP status for a typed upstream error: connection 502, timeout 504, otherwise the upstream's
 * own error status; an upstream that said 2xx yet failed (garbage, LM Studio's 200-with-error
 * body) is a bad gateway, and errors raised before any upstream answer use the kind's status.
 */
export function statusFor(error: UpstreamError): number {
  const def = KINDS[error.kind];
  if (error.kind === "connection" || error.kind === "timeout" || error.kind === "cancelled") {
    return def.status;
  }
  if (error.status !== undefined && error.status >= 400 && error.status <= 599) return error.status;
  if (
    error.status !== undefined && (error.kind === "bad_request" || error.kind === "server_error")
  ) {
    return 502;
  }
  return def.status;
}

/** The OpenAI error body for a typed upstream error. */
export function upstreamErrorBody(error: UpstreamError): OpenAiErrorBody {
  const def = KINDS[error.kind];
  return {
    error: {
      message: messageWithHint(error.message, error.hint),
      type: def.type,
      code: def.code,
      param: def.param,
    },
  };
}

/** A typed upstream error as a complete gateway response description. */
export function fromUpstreamError(error: UpstreamError): GatewayError {
  const headers: Record<string, string> = {};
  if (error.retryAfter !== undefined) headers["retry-after"] = String(error.retryAfter);
  return { status: statusFor(error), body: upstreamErrorBody(error), headers };
}

/**
 * deepstudio's own refusals (bad JSON, missing fields, too large, and the security layer's
 * 401/403/413/415 in front of /v1) in OpenAI's shape with OpenAI's type names, so an SDK raises
 * its usual class (AuthenticationError for 401, PermissionDeniedError for 403, …).
 */
export function fromAppError(error: AppError): GatewayError {
  const type = error.status === 401
    ? "authentication_error"
    : error.status === 403
    ? "permission_error"
    : error.status === 404
    ? "not_found_error"
    : error.status === 429
    ? "rate_limit_error"
    : error.status >= 500
    ? "server_error"
    : "invalid_request_error";
  const param = typeof error.extra.param === "string" ? error.extra.param : null;
  const code = error.status === 401 ? "invalid_api_key" : error.kind;
  return {
    status: error.status,
    body: { error: { message: error.message, type, code, param } },
    headers: {},
  };
}

/** A refusal as a /v1 response (OpenAI's shape), with any extra headers (`www-authenticate`). */
export function appErrorResponse(error: AppError, headers: Record<string, string> = {}): Response {
  const e = fromAppError(error);
  return Response.json(e.body, { status: e.status, headers: { ...e.headers, ...headers } });
}

/** An invalid request to the gateway (OpenAI's `invalid_request_error`). */
export function invalidRequest(
  message: string,
  param: string | null = null,
  status = 400,
): GatewayError {
  return {
    status,
    body: { error: { message, type: "invalid_request_error", code: null, param } },
    headers: {},
  };
}

const encoder = new TextEncoder();

/**
 * An error as an SSE event, the way OpenAI-compatible servers report failures after the stream
 * has started (`data: {"error":{...}}` and no `[DONE]`); the SDKs raise it as an APIError.
 */
export function errorEvent(error: UpstreamError): Uint8Array {
  return encoder.encode(`data: ${JSON.stringify(upstreamErrorBody(error))}\n\n`);
}
