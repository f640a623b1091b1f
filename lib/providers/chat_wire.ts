/**
 * The wire side of a completion: a whole JSON answer or one stream event turned into a chunk or
 * into the typed error it really is (LM Studio's 200-with-error, an error event inside a stream,
 * a cut or garbled body), and usage as deepstudio counts it.
 */
import {
  type ErrorContext,
  errorFromBody,
  errorFromHttp,
  ProviderError,
  toUpstreamError,
} from "./errors.ts";
import { isErrorBody, MAX_ANSWER_BYTES, readUpstreamText } from "./http.ts";
import type { SseEvent } from "./sse.ts";
import type { ResolvedProvider, Usage } from "./types.ts";

// deno-lint-ignore no-explicit-any
export type Json = any;

/** A whole JSON answer as a completion, or the typed error it really is. */
export function completionOf(
  text: string,
  res: Response,
  provider: ResolvedProvider,
  ectx: ErrorContext,
): Json {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ProviderError(toUpstreamError(
      new SyntaxError(
        text.trim() === ""
          ? "empty body"
          : /^\s*</.test(text)
          ? "an HTML page instead of JSON"
          : "the JSON body was cut short or is not JSON",
      ),
      provider,
      ectx,
    ));
  }
  if (isErrorBody(json) && !(json as { choices?: unknown }).choices) {
    throw new ProviderError(errorFromHttp(res.status, json, res.headers, provider, ectx));
  }
  if (typeof json !== "object" || json === null) {
    throw new ProviderError(
      toUpstreamError(new SyntaxError("the answer is not a JSON object"), provider, ectx),
    );
  }
  return json;
}

/** One event's data as a chunk, or the typed error the server sent inside the stream. */
export function chunkOf(ev: SseEvent, provider: ResolvedProvider, ectx: ErrorContext): Json {
  let chunk: Json;
  try {
    chunk = JSON.parse(ev.data);
  } catch {
    throw new SyntaxError("an event of the stream is not JSON");
  }
  if (ev.event === "error" || (chunk && typeof chunk === "object" && chunk.error)) {
    // No status: the error arrived inside a stream.
    const body = chunk && typeof chunk === "object" && chunk.error !== undefined
      ? { error: chunk.error }
      : chunk;
    throw new ProviderError(errorFromBody(body, provider, ectx));
  }
  if (typeof chunk !== "object" || chunk === null) {
    throw new SyntaxError("an event of the stream is not a JSON object");
  }
  return chunk;
}

/**
 * A whole body as text through the one capped reader: more than `max` bytes throws
 * `BodyTooLargeError` (typed "sent more than N MB" by `toUpstreamError`). `touch` sees every read.
 */
export function readAll(res: Response, touch: () => void, max = MAX_ANSWER_BYTES): Promise<string> {
  return readUpstreamText(res, max, touch);
}

export function mapUsage(u: unknown): Usage | null {
  if (!u || typeof u !== "object") return null;
  const x = u as Record<string, unknown>;
  const n = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : 0);
  const promptTokens = n(x.prompt_tokens);
  const completionTokens = n(x.completion_tokens);
  return {
    promptTokens,
    completionTokens,
    totalTokens: n(x.total_tokens) || promptTokens + completionTokens,
  };
}
