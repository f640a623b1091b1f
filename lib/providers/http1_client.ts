/**
 * A fetch-shaped HTTP/1.1 client over a raw socket, for the /v1 relay's streamed requests to an
 * http:// upstream. Deno's fetch hands JavaScript one chunked-encoding chunk (one SSE frame, as
 * LM Studio and llama.cpp write them) per read; a 16 KiB socket read takes every frame written
 * since the last read, and the body leaves as one chunk per read (docs/decisions/
 * raw-upstream-client.md). A POST with a string body and plain headers goes this way, and so does
 * a GET without a body (the model list the gateway reads at its first request: Deno's fetch
 * client is ~3 MB resident once used, docs/decisions/memory-targets.md); anything else,
 * https://, or a configured HTTP proxy goes to the fetch it was given. Errors look like
 * fetch's, so lib/providers/errors.ts maps them the same: a failed connect or a connection closed
 * before the answer is a `TypeError` ("error sending request…"), a failed or cut body read a
 * `TypeError` ("error reading a body from connection…"); an abort rejects with the signal's
 * reason and closes the socket at once (the upstream sees the disconnect).
 */
import { BodyTooLargeError } from "./errors.ts";
import {
  createChunkedDecoder,
  type Decoded,
  growHead,
  headEnd,
  parseHead,
  requestBytes,
  type ResponseHead,
} from "./http1_wire.ts";
import { type ConnPool, createConnPool } from "./http1_pool.ts";

/**
 * Bytes per socket read: every frame buffered since the last read arrives in one (~80 frames of
 * ~200 bytes) while a stream is busy (its last read took more than half of `WAIT_BYTES`).
 */
const READ_BYTES = 16 * 1024;
/**
 * Bytes a quiet stream's read waits with (one frame of a token-by-token answer fits): a pending
 * read holds its buffer until bytes arrive, and a 16 KiB one is a mapping of its own (the start
 * task's `mmap_threshold`) with a page or two resident per open stream; a read that fills this
 * one makes the next read a `READ_BYTES` one (docs/decisions/memory-targets.md).
 */
const WAIT_BYTES = 1024;
const EMPTY = new Uint8Array(0);
const NULL_BODY = new Set([204, 205, 304]);
const REDIRECT = new Set([301, 302, 303, 307, 308]);

/**
 * Wait buffers are cut from shared `READ_BYTES` slabs, never reused: a slab is a mapping of its
 * own and goes back to the system once every stream cut from it has ended. Separate 1 KiB
 * buffers came from the C allocator's main arena, which kept ~0.7 MB of fragments after a load
 * (scripts/bench_mem_ab.ts, "heap after").
 */
let slab = EMPTY;
let slabAt = 0;
const waitBuffer = () => {
  if (slabAt + WAIT_BYTES > slab.length) {
    slab = new Uint8Array(READ_BYTES);
    slabAt = 0;
  }
  return slab.subarray(slabAt, slabAt += WAIT_BYTES);
};

/**
 * Read buffers of finished answers, reused: a fresh 16 KiB buffer per request was external memory
 * enough to keep V8's GC busy under non-streamed load. Only a buffer no read can still write to
 * (the body read to its end) comes back; what is read later lies within what that read wrote.
 */
const spare: Uint8Array[] = [];
const MAX_SPARE = 16;
const takeBuffer = () => spare.pop() ?? new Uint8Array(READ_BYTES);
const giveBuffer = (b: Uint8Array) => {
  if (b.length === READ_BYTES && spare.length < MAX_SPARE) spare.push(b);
};

/** The bodies of answers that came whole with their head (see `bufferedBody`). */
const wholeBodies = new WeakMap<Response, Uint8Array>();

/**
 * The body of `res` when the raw client had all of it with the head (a non-streamed JSON answer,
 * usually): the same bytes `res.body` gives, without a stream and its reads. Null otherwise.
 */
export function bufferedBody(res: Response): Uint8Array | null {
  return wholeBodies.get(res) ?? null;
}

/** The body streams of the raw client (default streams, never byte streams). */
const rawBodies = new WeakSet<ReadableStream<Uint8Array>>();

/**
 * True for a body stream of the raw client: a default stream, so a reader asking it for a BYOB
 * reader would only get a TypeError (whose stack trace costs more than the whole read).
 */
export function isRawBody(body: ReadableStream<Uint8Array>): boolean {
  return rawBodies.has(body);
}

/** What picks the raw client over fetch. */
export interface UpstreamClientOptions {
  /** For whatever the raw client does not do (https, proxies, non-string bodies). */
  fallback: typeof fetch;
  /** The process environment: an HTTP proxy configured there is only honoured by fetch. */
  env?: Record<string, string | undefined>;
  /**
   * Given: connections are kept alive between requests (lib/providers/http1_pool.ts) and the
   * idle ones closed when it aborts. Without it every request has its own connection.
   */
  shutdown?: AbortSignal;
}

/** How long a kept-alive connection waits for its next request (servers wait 5 s, typically). */
const KEEP_IDLE_MS = 2000;

/** True when the environment configures a proxy for http:// URLs (Deno's fetch honours it). */
export function proxyConfigured(env: Record<string, string | undefined> = {}): boolean {
  return ["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"].some((k) => !!env[k]);
}

/** A fetch whose http:// POSTs with a string body, and GETs, go over the raw HTTP/1.1 client. */
export function createUpstreamClient(opts: UpstreamClientOptions): typeof fetch {
  const proxied = proxyConfigured(opts.env);
  const pool = opts.shutdown
    ? createConnPool({ idleMs: KEEP_IDLE_MS, shutdown: opts.shutdown })
    : null;
  return (input, init) => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : null;
    const headers = init?.headers;
    const plainHeaders = headers === undefined ||
      (typeof headers === "object" && !(headers instanceof Headers) && !Array.isArray(headers));
    const method = (init?.method ?? "GET").toUpperCase();
    const body = init?.body;
    if (
      proxied || url === null || !url.startsWith("http://") || !plainHeaders ||
      !(method === "POST"
        ? body === undefined || typeof body === "string"
        : method === "GET" && (body === undefined || body === null))
    ) {
      return opts.fallback(input, init);
    }
    const target = parsedUrl(url);
    return rawRequest(target, {
      method: method === "GET" ? "GET" : "POST",
      headers: (headers ?? {}) as Record<string, string>,
      body: method === "GET" ? "" : (body as string | undefined) ?? "",
      signal: init?.signal ?? undefined,
    }, pool).then((res) => {
      if (!REDIRECT.has(res.status)) return res;
      // fetch follows redirects (a reverse proxy sending http:// to https://): let it.
      res.body?.cancel().catch(() => {});
      return opts.fallback(input, init);
    }, (e) => {
      // Deno.connect tries a name's first address only (`localhost` may be ::1 while the server
      // listens on 127.0.0.1); fetch tries them all, and then reports the failure itself.
      if (e instanceof ConnectError && !/^[\d.]+$|^\[/.test(target.hostname)) {
        return opts.fallback(input, init);
      }
      throw e;
    });
  };
}

/** Parsed upstream URLs (a handful: one chat URL per provider), never mutated. */
const urls = new Map<string, URL>();

function parsedUrl(url: string): URL {
  let parsed = urls.get(url);
  if (!parsed) {
    parsed = new URL(url);
    if (urls.size >= 32) urls.clear(); // bounded: many URLs only cost parsing again
    urls.set(url, parsed);
  }
  return parsed;
}

/** The connect failed (nothing was sent). */
class ConnectError extends TypeError {}

/** A connection closed by the server before any byte of the answer (a stale pooled one). */
class StaleConnection extends Error {}

/**
 * One request: on an idle pooled connection when `pool` has one (retried once on a fresh
 * connection if that one turns out closed before any answer byte), else on a fresh one.
 */
export async function rawRequest(
  url: URL,
  req: {
    method?: "GET" | "POST";
    headers: Record<string, string>;
    body: Uint8Array | string;
    signal?: AbortSignal;
  },
  pool: ConnPool | null = null,
): Promise<Response> {
  req.signal?.throwIfAborted();
  const request = requestBytes(`${url.pathname}${url.search}`, url.host, req.headers, req.body, {
    keepAlive: pool !== null,
    method: req.method,
  });
  const reused = pool?.take(url.host) ?? null;
  try {
    return await exchange(url, request, req.signal, pool, reused);
  } catch (e) {
    if (!(e instanceof StaleConnection)) throw e;
    return await exchange(url, request, req.signal, pool, null);
  }
}

/** Sends `request` on `reused` or a new connection and reads the answer's head. */
async function exchange(
  url: URL,
  request: Uint8Array,
  signal: AbortSignal | undefined,
  pool: ConnPool | null,
  reused: Deno.TcpConn | null,
): Promise<Response> {
  const sending = (e: unknown) =>
    new TypeError(`error sending request for url (${url.href}): ${message(e)}`, { cause: e });
  let conn = reused;
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    signal?.removeEventListener("abort", close);
    try {
      conn?.close();
    } catch { /* closed already */ }
  };
  const aborted = () => signal?.aborted ? signal.reason : null;
  signal?.addEventListener("abort", close); // a signal aborts once; `close` removes it
  if (!conn) {
    try {
      const hostname = url.hostname.replace(/^\[(.*)\]$/, "$1");
      conn = await Deno.connect({ hostname, port: Number(url.port || 80) });
    } catch (e) {
      close();
      throw aborted() ?? new ConnectError(sending(e).message, { cause: e });
    }
    if (closed) { // aborted while connecting
      close();
      throw aborted();
    }
  }

  let buf: Uint8Array = takeBuffer();
  let have = 0;
  let end = -1;
  let parsed: ResponseHead;
  try {
    for (let w = 0; w < request.length;) w += await conn.write(request.subarray(w));
    for (;;) {
      while (end === -1) {
        if (have === buf.length) buf = growHead(buf);
        const n = await conn.read(buf.subarray(have));
        if (n === null) throw new Error("connection closed before message completed");
        have += n;
        end = headEnd(buf, have);
      }
      parsed = parseHead(buf.subarray(0, end));
      if (parsed.status >= 200) break;
      // An interim answer (100 Continue): the real head follows.
      buf.copyWithin(0, end, have);
      have -= end;
      end = headEnd(buf, have);
    }
  } catch (e) {
    close();
    if (aborted()) throw aborted();
    if (e instanceof SyntaxError || e instanceof BodyTooLargeError) throw e;
    if (reused && have === 0) throw new StaleConnection();
    throw sending(e);
  }

  const { status, length, chunked } = parsed;
  const keep = pool && !parsed.close ? pool : null;
  /** `buf` is still this exchange's to give back (a body stream takes it over). */
  let reusable = true;
  const done = (exact: boolean) => {
    if (reusable) giveBuffer(buf);
    reusable = false;
    if (!exact || !keep || closed || aborted()) return close();
    closed = true;
    signal?.removeEventListener("abort", close);
    keep.give(url.host, conn!);
  };
  if (NULL_BODY.has(status) || (!chunked && length !== null && Number(length) === 0)) {
    done(end === have);
    return answer(NULL_BODY.has(status) ? null : new Uint8Array(0), parsed);
  }
  if (!chunked && length !== null && !/^\d+$/.test(length)) {
    close();
    throw new SyntaxError(`malformed content-length ${JSON.stringify(length)}`);
  }
  if (!chunked && length !== null && have - end >= Number(length)) {
    // The whole body came with the head: no stream (its reads cost more than the copy).
    const whole = buf.slice(end, end + Number(length));
    done(end + whole.length === have);
    const res = answer(whole, parsed);
    wholeBodies.set(res, whole);
    return res;
  }
  reusable = false; // the body stream gives `buf` back when no read can write to it any more
  const body = bodyStream(conn, buf, { from: end, to: have }, {
    chunked,
    length: chunked || length === null ? null : Number(length),
    close,
    done,
    aborted,
    events: parsed.headers.some(([name, value]) =>
      name.toLowerCase() === "content-type" && value.includes("text/event-stream")
    ),
  });
  buf = EMPTY; // `done` keeps this scope alive as long as the body: it must not keep the buffer
  rawBodies.add(body);
  return answer(body, parsed);
}

/**
 * The upstream's answer as a Response, its headers appended after construction: a Response
 * built with headers and a byte body gets Deno's native response prepared at once (for
 * Deno.serve), which this one, read by the relay and never served, does not need; that was half
 * of its cost (~14 → ~6 µs in a loop). Appending validates each value as the init would.
 */
function answer(body: BodyInit | null, head: ResponseHead): Response {
  const res = new Response(body, { status: head.status, statusText: head.statusText });
  const headers = res.headers;
  for (const [name, value] of head.headers) headers.append(name, value);
  return res;
}

/**
 * The body as a stream of one chunk per socket read (the data of every chunked-encoding chunk
 * that read completed, concatenated). Not a byte stream: readers take the chunks as they are.
 */
function bodyStream(
  conn: Deno.TcpConn,
  buf: Uint8Array,
  first: { from: number; to: number },
  o: {
    chunked: boolean;
    length: number | null;
    close: () => void;
    /** The body ended; `exact`: at the last byte read (nothing of a next answer follows). */
    done: (exact: boolean) => void;
    aborted: () => unknown;
    /**
     * An event stream: its reads wait with the small buffer while it is quiet. Any other body
     * (a non-streamed document) is read in `READ_BYTES` reads: a small first read would only
     * split it into more reads.
     */
    events: boolean;
  },
): ReadableStream<Uint8Array> {
  const decoder = o.chunked ? createChunkedDecoder() : null;
  let left = o.length ?? Infinity; // bytes still due (Content-Length)
  let pending: { from: number; to: number } | null = first.to > first.from ? first : null;
  const reading = (e: unknown) =>
    o.aborted() ??
      new TypeError(`error reading a body from connection: ${message(e)}`, { cause: e });
  const cut = () => reading(new Error("unexpected end of file"));
  /** The big buffer while held (the head's first, then the spare pool's), and the small one. */
  let big: Uint8Array | null = buf;
  let small: Uint8Array | null = null;
  let busy = !o.events; // not an event stream, or its last read took over half the small buffer
  const release = () => {
    if (big) giveBuffer(big);
    big = null;
  };

  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      // Loops until it enqueues or ends: a pull that enqueues nothing is not called again.
      for (;;) {
        let from = 0, to: number;
        let read: Uint8Array;
        if (pending) {
          read = big!;
          ({ from, to } = pending);
          pending = null;
          busy = !o.events || to - from > WAIT_BYTES / 2;
        } else {
          let n: number | null;
          read = busy ? (big ??= takeBuffer()) : (small ??= waitBuffer());
          try {
            n = await conn.read(read.length > READ_BYTES ? read.subarray(0, READ_BYTES) : read);
          } catch (e) {
            o.close();
            throw reading(e);
          }
          if (n === null) {
            o.close();
            // Only a close-delimited body may end with the connection.
            if (decoder || left !== Infinity) throw cut();
            return controller.close();
          }
          to = n;
          busy = !o.events || n > WAIT_BYTES / 2;
        }
        let d: Decoded;
        if (decoder) {
          try {
            d = decoder.feed(read, from, to);
          } catch (e) {
            o.close();
            throw e;
          }
        } else {
          const stop = Math.min(to, from + left);
          left -= stop - from;
          d = { data: read.slice(from, stop), ended: left === 0, end: stop };
        }
        // Decoded data is a copy: nothing points into the buffers now, and no read is pending.
        if (!busy) release();
        if (d.data.length) controller.enqueue(d.data);
        if (d.ended) {
          release();
          o.done(d.end === to);
          return controller.close();
        }
        if (d.data.length) return;
      }
    },
    cancel() {
      o.close();
    },
  }, { highWaterMark: 1 });
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
