/**
 * Reading JSON request bodies safely: a size cap enforced while reading (a lying or absent
 * Content-Length cannot get past it), the content type required, a nesting bound checked while
 * reading (lib/http/json_guard.ts), and parse failures reported in the standard error shape instead
 * of as 500s.
 */
import { AppError } from "./errors.ts";
import { DepthScanner, tooDeepMessage } from "./json_guard.ts";
import { readStreamCapped } from "../net/read_capped.ts";
import { after } from "../timer.ts";

/** Time a request body has to arrive whole (a client trickling bytes holds a socket meanwhile). */
export const BODY_TIMEOUT_MS = 60_000;

/** The body did not arrive whole within its time. */
export class BodyTimeoutError extends Error {
  constructor(readonly ms: number) {
    super(`The request body did not arrive within ${ms / 1000} s`);
    this.name = "BodyTimeoutError";
  }
}

/** 408 for a body that took too long; the connection closes with it (its body is unread). */
export function bodyTimeout(e: BodyTimeoutError): AppError {
  return new AppError(408, "request_timeout", `${e.message}; send it at once`);
}

/**
 * `body` that errors with `BodyTimeoutError` (and cancels the source) unless it ends within `ms`:
 * a client cannot hold a request open by sending its body a byte at a time. `stop` disarms the
 * deadline once the handler is done (a body nobody read needs no timer).
 */
export function withReadDeadline(
  body: ReadableStream<Uint8Array>,
  ms: number,
): { body: ReadableStream<Uint8Array>; stop: () => void } {
  const reader = body.getReader();
  let timer: (() => void) | undefined;
  const stop = () => timer?.();
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      timer = after(ms, () => {
        const e = new BodyTimeoutError(ms);
        reader.cancel(e).catch(() => {});
        try {
          controller.error(e);
        } catch { /* already closed */ }
      });
    },
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (done) {
          stop();
          controller.close();
        } else controller.enqueue(value);
      } catch (e) {
        stop();
        try {
          controller.error(e);
        } catch { /* the deadline errored it first */ }
      }
    },
    cancel(reason) {
      stop();
      return reader.cancel(reason);
    },
  });
  return { body: stream, stop };
}

/** Deadlines set by {@link setBodyDeadline}, by request. */
const deadlines = new WeakMap<Request, { at: number; ms: number }>();

/**
 * Gives `req`'s body `ms` from now to arrive whole without wrapping it (no second stream, no
 * copy of the Request): the readers of this module (`readJson`, `readJsonObject`, `readForm`)
 * enforce it. Only for routes whose handlers read bodies through them alone (the gateway); any
 * other route gets {@link withReadDeadline}, which binds every reader.
 */
export function setBodyDeadline(req: Request, ms: number): void {
  deadlines.set(req, { at: performance.now() + ms, ms });
}

/**
 * The stopper that ends a read at `req`'s deadline, if it has one. The deadline goes on the
 * process's one timer wheel (lib/timer.ts): no `setTimeout` per request (a Node-compatible
 * Timeout object in Deno, whose module costs idle RSS), and a read that ends in time only
 * forgets its entry.
 */
function deadlineStopper(req: Request) {
  const deadline = deadlines.get(req);
  if (!deadline) return undefined;
  return (stop: (reason: unknown) => void) =>
    after(
      deadline.at - performance.now(),
      () => stop(new BodyTimeoutError(deadline.ms)),
    );
}

/** One strict decoder for every body (a whole-input decode leaves no state behind). */
const UTF8 = new TextDecoder("utf-8", { fatal: true });
/** The lenient one: Deno's one-pass UTF-8 path, several times cheaper than the strict decoder's. */
const UTF8_LENIENT = new TextDecoder();

/**
 * `bytes` as text, throwing on invalid UTF-8 like the strict decoder. The lenient decoder puts a
 * U+FFFD in place of every invalid sequence, so only a text that holds one (invalid input, or a
 * client that really sent U+FFFD) needs the strict decoder's verdict.
 */
function decodeStrict(bytes: Uint8Array): string {
  const text = UTF8_LENIENT.decode(bytes);
  return text.includes("\uFFFD") ? UTF8.decode(bytes) : text;
}

/** Largest JSON body any route accepts. */
export const MAX_JSON_BODY = 64 * 1024;

/** Reads and parses a JSON body from a Request, or throws an `AppError` saying what is wrong. */
export async function readJson(req: Request, limit = MAX_JSON_BODY): Promise<unknown> {
  const type = (req.headers.get("content-type") ?? "").split(";")[0].trim().toLowerCase();
  if (type !== "application/json" && !type.endsWith("+json")) {
    throw new AppError(
      415,
      "unsupported_media_type",
      `Send the body as JSON with "Content-Type: application/json"${type ? ` (got ${type})` : ""}`,
    );
  }
  const declared = Number(req.headers.get("content-length") ?? "0");
  if (declared > limit) throw tooLarge(limit);
  // Nesting is measured while reading: a deeply nested value would block the event loop wherever
  // it is serialised again, so it is refused before the rest of it even arrives.
  const bytes = await readBytes(req, limit, new DepthScanner());
  let text: string;
  try {
    text = decodeStrict(bytes);
  } catch {
    throw new AppError(400, "bad_request", "The request body is not valid UTF-8");
  }
  if (text.trim() === "") {
    throw new AppError(400, "bad_request", "The request body is empty; send a JSON object");
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new AppError(
      400,
      "bad_request",
      `The request body is not valid JSON: ${jsonErrorDetail(e)}`,
    );
  }
}

/**
 * V8's parse errors quote the start of the input (`Unexpected token 's', "sk-live-12"... is not
 * valid JSON`), which may be an API key; keep only the part that says where it went wrong.
 */
function jsonErrorDetail(e: unknown): string {
  const message = e instanceof Error ? e.message : "";
  if (/ is not valid JSON$/.test(message) || !/ at position \d+/.test(message)) {
    return "unexpected character";
  }
  return message;
}

/**
 * Bodies declared at most this long are read whole before their nesting is checked (a chat
 * request is a few KB); longer ones are scanned chunk by chunk, so a deep one is refused before
 * the rest of it arrives (tests/security/deep_json_test.ts).
 */
const WHOLE_BODY = 64 * 1024;

/** The body's bytes, refusing more than `limit` while reading (a lying Content-Length cannot help). */
async function readBytes(
  req: Request,
  limit: number,
  depth?: DepthScanner,
): Promise<Uint8Array> {
  const declared = req.headers.get("content-length");
  if (
    declared !== null && /^\d+$/.test(declared) &&
    Number(declared) <= Math.min(limit, WHOLE_BODY) &&
    req.headers.get("transfer-encoding") === null
  ) {
    return checkedDepth(await readDeclared(req), depth);
  }
  // `req.body` makes the body a stream: read only for bodies without a declared length.
  if (!req.body) return new Uint8Array(0);
  const deep = depth && ((chunk: Uint8Array) => checkedDepth(chunk, depth));
  let bytes: Uint8Array | null;
  try {
    bytes = await readStreamCapped(req.body, limit, deep, deadlineStopper(req));
  } catch (e) {
    throw readFailure(e);
  }
  if (bytes === null) throw tooLarge(limit);
  return bytes;
}

function checkedDepth(bytes: Uint8Array, depth?: DepthScanner): Uint8Array {
  if (depth && !depth.push(bytes)) {
    throw new AppError(400, "bad_request", tooDeepMessage(depth.max));
  }
  return bytes;
}

function readFailure(e: unknown): AppError {
  if (e instanceof AppError) return e;
  if (e instanceof BodyTimeoutError) return bodyTimeout(e);
  return new AppError(
    400,
    "bad_request",
    "The request body ended before its declared length (connection closed early?)",
  );
}

/**
 * A body of declared length (within the cap, checked by `readBytes`; the server reads no byte
 * past it) read whole by the runtime: when it arrived with the head, Deno hands over its bytes without
 * a stream, a reader and their promises. The deadline still ends the wait: a body that stops
 * arriving is answered 408 (with `connection: close`, which ends the pending read).
 */
function readDeclared(req: Request): Promise<Uint8Array> {
  const reading = req.bytes();
  const stopper = deadlineStopper(req);
  if (!stopper) return reading.catch((e) => Promise.reject(readFailure(e)));
  return new Promise((resolve, reject) => {
    const disarm = stopper((reason) => reject(readFailure(reason)));
    reading.then((bytes) => {
      disarm();
      resolve(bytes);
    }, (e) => {
      disarm();
      reject(readFailure(e));
    });
  });
}

/**
 * Reads an HTML form post (`application/x-www-form-urlencoded`), for the few server-rendered forms
 * that work without JavaScript (sign-in). Same size cap and error shape as JSON bodies.
 */
export async function readForm(req: Request, limit = 8 * 1024): Promise<Record<string, string>> {
  const type = (req.headers.get("content-type") ?? "").split(";")[0].trim().toLowerCase();
  if (type !== "application/x-www-form-urlencoded") {
    throw new AppError(
      415,
      "unsupported_media_type",
      `Send the form as application/x-www-form-urlencoded${type ? ` (got ${type})` : ""}`,
    );
  }
  const declared = Number(req.headers.get("content-length") ?? "0");
  if (declared > limit) throw tooLarge(limit);
  let text: string;
  try {
    text = decodeStrict(await readBytes(req, limit));
  } catch (e) {
    if (e instanceof AppError) throw e;
    throw new AppError(400, "bad_request", "The form is not valid UTF-8");
  }
  const out: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(text)) if (!Object.hasOwn(out, k)) out[k] = v;
  return out;
}

function tooLarge(limit: number): AppError {
  return new AppError(
    413,
    "payload_too_large",
    `The request body is larger than ${limit / 1024} KiB`,
  );
}

/** Reads a JSON body that must be a plain object (not an array, string or null). */
export async function readJsonObject(
  req: Request,
  limit?: number,
): Promise<Record<string, unknown>> {
  const value = await readJson(req, limit);
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new AppError(400, "bad_request", "The request body must be a JSON object");
  }
  return value as Record<string, unknown>;
}
