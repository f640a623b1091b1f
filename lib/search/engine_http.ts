/**
 * One GET of a web search engine's JSON API (SearXNG, Wikipedia), shared so every engine fails
 * the same way: a deadline (`search.fetch_timeout`) joined with the run's signal, a size cap read
 * while streaming, the engine's own reading of a non-2xx status, and transport failures turned
 * into typed `timeout`, `cancelled` or `connection` errors whose hints the engine words.
 */
import type { z } from "zod";
import { jsonTooDeep, MAX_JSON_DEPTH, parseBoundedJson } from "../http/json_guard.ts";
import { readCapped } from "../net/read_capped.ts";
import { SearchError, searchError } from "./errors.ts";
import type { EngineId } from "./types.ts";

/** How one engine talks HTTP. */
export interface EngineHttp {
  engine: EngineId;
  /** As messages name it: "SearXNG", "Wikipedia". */
  name: string;
  /** The configured base URL (messages name it). */
  base: string;
  timeoutMs: number;
  fetch?: typeof fetch;
  maxBytes: number;
  headers?: Record<string, string>;
  /** The engine's hints: what to do on a timeout, when unreachable, and when unreadable. */
  hints: { timeout: string; connection: string; malformed: string };
  /** The typed error of a non-2xx answer (its body is cancelled first). */
  statusError(status: number, url: string): SearchError;
}

/** The answer's text; throws `SearchError` for every failure. */
export async function engineGet(h: EngineHttp, url: string, signal?: AbortSignal): Promise<string> {
  const deadline = AbortSignal.timeout(h.timeoutMs);
  const both = signal ? AbortSignal.any([signal, deadline]) : deadline;
  let bytes: Uint8Array | null;
  try {
    const res = await (h.fetch ?? fetch)(url, {
      signal: both,
      headers: { accept: "application/json", ...h.headers },
    });
    if (!res.ok) {
      await res.body?.cancel();
      throw h.statusError(res.status, url);
    }
    bytes = await readCapped(res, h.maxBytes);
  } catch (err) {
    if (err instanceof SearchError) throw err;
    if (deadline.aborted) {
      throw searchError(
        "timeout",
        h.engine,
        `${h.name} at ${h.base} did not answer within ${Math.round(h.timeoutMs / 1000)} s`,
        h.hints.timeout,
        { url },
      );
    }
    if (both.aborted) throw searchError("cancelled", h.engine, "Search cancelled", "", { url });
    const detail = (err as { cause?: Error })?.cause?.message ?? (err as Error)?.message ?? "";
    throw searchError(
      "connection",
      h.engine,
      `Could not reach ${h.name} at ${h.base}: ${detail.slice(0, 200)}`,
      h.hints.connection,
      { url },
    );
  }
  if (bytes === null) {
    throw engineMalformed(h, url, `the answer is larger than ${h.maxBytes >> 20} MiB`);
  }
  return new TextDecoder().decode(bytes);
}

/** An answer that could not be read. */
export function engineMalformed(
  h: Pick<EngineHttp, "engine" | "name" | "hints">,
  url: string,
  why: string,
): SearchError {
  return searchError(
    "malformed",
    h.engine,
    `${h.name}'s answer could not be read: ${why}`,
    h.hints.malformed,
    { url },
  );
}

/**
 * The answer parsed as JSON of `schema`'s shape. Not JSON, JSON nested deeper than any real
 * answer (see json_guard.ts), or another shape is `malformed`.
 */
export function engineJson<T>(
  h: Pick<EngineHttp, "engine" | "name" | "hints">,
  url: string,
  text: string,
  schema: z.ZodType<T>,
  wrongShape: string,
): T {
  const raw = parseBoundedJson(text);
  if (raw === undefined) {
    const why = jsonTooDeep(text) ? `the JSON nests deeper than ${MAX_JSON_DEPTH} levels` : "";
    throw engineMalformed(h, url, why || "the answer is not JSON");
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw engineMalformed(h, url, wrongShape);
  return parsed.data;
}
