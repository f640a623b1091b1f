/**
 * The benchmark's clients, the same for every target (the mock directly, the bare Deno hop,
 * deepstudio's /v1):
 * - `streamOnce`: a fetch reader timing the first content frame and the gaps after it; it keeps
 *   the bytes so `checkFrames` can parse every event afterwards (outside the timed part) and
 *   compare it with what the mock sent, byte for byte.
 * - `rawStream`: a raw-socket HTTP/1.1 client (Deno.connect, one 256 KiB read buffer, chunked
 *   decoding, frames counted as blank lines without decoding or JSON parsing): the cheapest
 *   possible reader, so a flat-out run measures the server side, not the client.
 * - `documentOnce`: one non-streamed answer, checked against the mock's document.
 */
import { type BenchSpec, documentText, frame } from "./bench_upstream.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const CONTENT = encoder.encode('"content"');
const LF = 10;
const CR = 13;
/** No request of the benchmark may hang it: each is bounded. */
export const REQUEST_TIMEOUT_MS = 60_000;

/** What the client asks the mock for (the rest of {@link BenchSpec} is filled in per request). */
export type Spec = Omit<BenchSpec, "id" | "created" | "headerMs" | "bodyMs"> & {
  headerMs?: number;
  bodyMs?: number;
};

let seq = 0;
/** A fixed `created` so every frame's bytes are known in advance. */
export const CREATED = 1_700_000_000;

/** A fresh request id. */
export function nextId(prefix = "r"): string {
  return `${prefix}${++seq}`;
}

/** The request body: an ordinary chat request plus the mock's `bench` instructions. */
export function chatBody(spec: Spec, opts: { stream: boolean; usage: boolean }, id = nextId()) {
  return JSON.stringify({
    model: "bench-model",
    messages: [{ role: "user", content: "Count to ten." }],
    max_tokens: 256,
    stream: opts.stream,
    ...(opts.usage ? { stream_options: { include_usage: true } } : {}),
    bench: { id, headerMs: 0, bodyMs: 0, created: CREATED, ...spec },
  });
}

export function includes(hay: Uint8Array, needle: Uint8Array): boolean {
  for (let i = hay.indexOf(needle[0]); i !== -1; i = hay.indexOf(needle[0], i + 1)) {
    let j = 1;
    while (j < needle.length && hay[i + j] === needle[j]) j++;
    if (j === needle.length) return true;
  }
  return false;
}

/** Counts `\n\n` event ends in `data[from, to)`, `prev` being the byte before `from`. */
export function countEvents(data: Uint8Array, from: number, to: number, prev: number): number {
  let n = 0;
  let last = prev;
  for (let i = data.indexOf(LF, from); i !== -1 && i < to; i = data.indexOf(LF, i + 1)) {
    if ((i === from ? last : data[i - 1]) === LF) n++;
    last = LF;
  }
  return n;
}

export interface StreamResult {
  id: string;
  ok: boolean;
  status: number;
  ttft: number;
  gaps: number[];
  frames: number;
  /** deepstudio's own Server-Timing `ds` (NaN elsewhere). */
  ds: number;
  /** The raw bytes, for {@link checkFrames}. */
  chunks: Uint8Array[];
  spec: Spec;
  usage: boolean;
  error?: string;
}

/** One streamed request through fetch: TTFT, gaps, frames; the bytes are kept for checking. */
export async function streamOnce(base: string, spec: Spec, usage: boolean): Promise<StreamResult> {
  const id = nextId();
  const t0 = performance.now();
  const out: StreamResult = {
    id,
    ok: false,
    status: 0,
    ttft: NaN,
    gaps: [],
    frames: 0,
    ds: NaN,
    chunks: [],
    spec,
    usage,
  };
  try {
    const res = await fetch(`${base}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: chatBody(spec, { stream: true, usage }, id),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    out.status = res.status;
    const timing = /ds;dur=([\d.]+)/.exec(res.headers.get("server-timing") ?? "");
    if (timing) out.ds = Number(timing[1]);
    if (res.status !== 200) {
      out.error = `HTTP ${res.status}: ${(await res.text()).slice(0, 200)}`;
      return out;
    }
    const reader = res.body!.getReader();
    let last = NaN;
    let prevByte = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      const t = performance.now();
      out.chunks.push(value);
      out.frames += countEvents(value, 0, value.length, prevByte);
      prevByte = value[value.length - 1];
      if (includes(value, CONTENT)) {
        if (Number.isNaN(out.ttft)) out.ttft = t - t0;
        else out.gaps.push(t - last);
        last = t;
      }
    }
    out.ok = !Number.isNaN(out.ttft);
    if (!out.ok) out.error = "no content arrived";
  } catch (e) {
    out.error = String(e);
  }
  return out;
}

/** The outcome of parsing one stream's events and comparing them with the mock's frames. */
export interface FrameCheck {
  /** Events received (parsed, each `data:` JSON-decoded unless `[DONE]`). */
  events: number;
  /** Events that differ from the mock's bytes, arrive out of order, or are missing/extra. */
  mismatches: number;
  /** The usage-only event the mock sent but the client did not receive (it did not ask). */
  usageStripped: number;
  firstMismatch?: string;
}

/**
 * Splits the bytes into SSE events and compares each with the mock's frame, in order. `upstream
 * usage` says whether the mock was asked for usage (deepstudio always asks): then the client
 * either gets the usage event (it asked) or must get every other event unchanged without it.
 */
export function checkFrames(r: StreamResult, upstreamUsage: boolean): FrameCheck {
  const text = decoder.decode(concat(r.chunks));
  const events = text.split("\n\n");
  if (events.at(-1) === "") events.pop();
  const spec = { id: r.id, deltas: r.spec.deltas, created: CREATED };
  const want: string[] = [];
  for (let i = -1; i <= r.spec.deltas + 2; i++) {
    if (i === r.spec.deltas + 1 && !(upstreamUsage && r.usage)) continue;
    want.push(frame(spec, i).slice(0, -2));
  }
  const out: FrameCheck = { events: events.length, mismatches: 0, usageStripped: 0 };
  for (const e of events) {
    const data = e.startsWith("data: ") ? e.slice(6) : null;
    if (data === null || (data !== "[DONE]" && !parses(data))) {
      out.mismatches++;
      out.firstMismatch ??= e.slice(0, 200);
    }
  }
  const n = Math.max(want.length, events.length);
  for (let i = 0; i < n; i++) {
    if (want[i] !== events[i]) {
      out.mismatches++;
      out.firstMismatch ??= `event ${i}: ${String(events[i]).slice(0, 160)} ≠ ${
        String(want[i]).slice(0, 160)
      }`;
    }
  }
  if (upstreamUsage && !r.usage && out.mismatches === 0) out.usageStripped = 1;
  return out;
}

function parses(json: string): boolean {
  try {
    JSON.parse(json);
    return true;
  } catch {
    return false;
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  let size = 0;
  for (const p of parts) size += p.length;
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** One raw-socket stream's outcome. */
export interface RawResult {
  status: number;
  frames: number;
  bytes: number;
  reads: number;
  ok: boolean;
}

const HEADER_END = encoder.encode("\r\n\r\n");

/**
 * Counts SSE events in an HTTP/1.1 body as it arrives, undoing chunked framing in place: no copy,
 * no decoding. `feed` returns false once the last chunk arrived.
 */
function bodyCounter(chunked: boolean, out: RawResult) {
  let left = -1; // bytes left in the current chunk; -1 while reading a size line
  let size = 0;
  let skipCrlf = 0;
  let prev = 0;
  return {
    feed(buf: Uint8Array, from: number, to: number): boolean {
      if (!chunked) {
        out.frames += countEvents(buf, from, to, prev);
        out.bytes += to - from;
        if (to > from) prev = buf[to - 1];
        return true;
      }
      let at = from;
      while (at < to) {
        if (skipCrlf > 0) {
          at++;
          skipCrlf--;
        } else if (left === -1) {
          const c = buf[at++];
          if (c === LF) {
            if (size === 0) return false; // the last chunk
            left = size;
            size = 0;
          } else if (c !== CR) {
            const d = c <= 57 ? c - 48 : (c | 32) - 87;
            if (d >= 0 && d < 16) size = size * 16 + d;
          }
        } else {
          const stop = Math.min(to, at + left);
          out.frames += countEvents(buf, at, stop, prev);
          out.bytes += stop - at;
          prev = buf[stop - 1];
          left -= stop - at;
          at = stop;
          if (left === 0) {
            left = -1;
            skipCrlf = 2;
          }
        }
      }
      return true;
    },
  };
}

/**
 * POSTs `body` over a plain TCP connection and counts SSE events in the (chunked) response body
 * until its last chunk. One reused 256 KiB buffer; no decoding, no JSON, no allocation per read.
 */
export async function rawStream(url: string, body: string): Promise<RawResult> {
  const u = new URL(`${url}/v1/chat/completions`);
  const payload = encoder.encode(body);
  const head = encoder.encode(
    `POST ${u.pathname} HTTP/1.1\r\nhost: ${u.host}\r\ncontent-type: application/json\r\n` +
      `accept: text/event-stream\r\ncontent-length: ${payload.length}\r\nconnection: close\r\n\r\n`,
  );
  const out: RawResult = { status: 0, frames: 0, bytes: 0, reads: 0, ok: false };
  const conn = await Deno.connect({ hostname: u.hostname, port: Number(u.port) });
  try {
    const request = concat([head, payload]);
    for (let w = 0; w < request.length;) w += await conn.write(request.subarray(w));
    const buf = new Uint8Array(256 * 1024);
    let header: Uint8Array | null = new Uint8Array(0);
    let counter: ReturnType<typeof bodyCounter> | null = null;
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      out.reads++;
      if (counter) {
        if (!counter.feed(buf, 0, n)) break;
        continue;
      }
      const joined: Uint8Array = concat([header!, buf.subarray(0, n)]);
      const end = indexOf(joined, HEADER_END);
      if (end === -1) {
        header = joined;
        continue;
      }
      const text = decoder.decode(joined.subarray(0, end)).toLowerCase();
      out.status = Number(text.slice(9, 12));
      counter = bodyCounter(text.includes("transfer-encoding: chunked"), out);
      if (!counter.feed(joined, end + 4, joined.length)) break;
    }
  } finally {
    try {
      conn.close();
    } catch { /* closed */ }
  }
  out.ok = out.status === 200 && out.frames > 0;
  return out;
}

function indexOf(hay: Uint8Array, needle: Uint8Array): number {
  for (let i = hay.indexOf(needle[0]); i !== -1; i = hay.indexOf(needle[0], i + 1)) {
    let j = 1;
    while (j < needle.length && hay[i + j] === needle[j]) j++;
    if (j === needle.length) return i;
  }
  return -1;
}

/** One non-streamed request: latency and whether the body is the mock's document, unchanged. */
export async function documentOnce(
  base: string,
  spec: Spec,
): Promise<{ ms: number; ok: boolean; error?: string }> {
  const id = nextId("n");
  const t0 = performance.now();
  try {
    const res = await fetch(`${base}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: chatBody(spec, { stream: false, usage: false }, id),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const text = await res.text();
    const ms = performance.now() - t0;
    const want = documentText({ id, deltas: spec.deltas, created: CREATED });
    if (res.status !== 200) return { ms, ok: false, error: `HTTP ${res.status}: ${text}` };
    if (text !== want) return { ms, ok: false, error: `body differs: ${text.slice(0, 200)}` };
    return { ms, ok: true };
  } catch (e) {
    return { ms: performance.now() - t0, ok: false, error: String(e) };
  }
}
