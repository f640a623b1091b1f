/**
 * The one JSON error shape of deepstudio's own API: `{"error":{"kind","message",...}}`. Routes
 * throw `AppError`; the app's single `onError` turns it (and framework or zod errors) into a
 * response, so no handler formats errors by hand and no path can leak a stack trace.
 */

/**
 * Error kinds of the API itself (upstream LLM failures carry their own kinds, docs/providers.md,
 * "Errors").
 */
export type AppErrorKind =
  | "validation"
  | "locked"
  | "conflict"
  | "not_found"
  | "method_not_allowed"
  | "bad_request"
  | "payload_too_large"
  | "unsupported_media_type"
  | "forbidden"
  | "unauthorized"
  | "too_many_requests"
  | "request_timeout"
  | "upstream"
  | "internal";

/** The body of every error response. */
export interface ErrorBody {
  error: { kind: string; message: string; [extra: string]: unknown };
}

/** An error that knows its HTTP status and its place in the error shape. */
export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly kind: AppErrorKind,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = "AppError";
  }

  /** The JSON body for this error. */
  toBody(): ErrorBody {
    return { error: { ...this.extra, kind: this.kind, message: this.message } };
  }
}

/** 400 with per-key issues, the shape the settings form reads. */
export function validationError(
  message: string,
  issues: { key: string; message: string }[],
): AppError {
  return new AppError(400, "validation", message, { issues });
}

/** 404 in the standard shape. */
export function notFound(what: string): AppError {
  return new AppError(404, "not_found", what);
}
