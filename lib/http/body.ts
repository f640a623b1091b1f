/**
 * Reading JSON request bodies safely: a size cap enforced while reading (a lying or absent
 * Content-Length cannot get past it), the content type required, and parse failures reported in
 * the standard error shape instead of as 500s.
 */
import { AppError } from "./errors.ts";

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
  if (!req.body) {
    throw new AppError(400, "bad_request", "The request body is empty; send a JSON object");
  }
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      throw tooLarge(limit);
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const c of chunks) {
    bytes.set(c, offset);
    offset += c.byteLength;
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
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
      `The request body is not valid JSON: ${(e as Error).message}`,
    );
  }
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
