/**
 * The bytes of HTTP/1.1 for the raw upstream client (lib/providers/http1_client.ts): the request
 * head written, the response head parsed and a chunked body decoded. Everything here is capped:
 * whatever an upstream sends, a head or a chunk-size line or a trailer costs at most its cap.
 * Malformed input is a `SyntaxError` (mapped to "sent a malformed response"), a head over its
 * cap a `BodyTooLargeError`.
 */
import { BodyTooLargeError } from "./errors.ts";

/** Largest response head (status line and headers) read from an upstream. */
export const MAX_HEAD_BYTES = 64 * 1024;
/** Most header lines in one response head. */
export const MAX_HEADERS = 128;
/** Largest chunk-size line (size and extensions) and largest trailer section. */
const MAX_LINE = 4096;
const MAX_TRAILERS = 16 * 1024;

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const BAD_VALUE = /[\r\n\0]/;

// deno-lint-ignore no-control-regex
const NON_ASCII = /[^\x00-\x7f]/;

/**
 * A request for `path` on `host` (`host:port`), head and body in one array: a POST of `body`, or
 * a GET (no body, no `content-length`). The caller's `host`, `content-length` and `connection`
 * headers are replaced by the right ones; a header name or value that could split the head (CR,
 * LF, NUL) is refused the way fetch refuses it, with a `TypeError`. A string body (the /v1
 * relay's JSON) is encoded with the head, in one pass into one array; its byte length is its
 * length unless it holds a non-ASCII character.
 */
export function requestBytes(
  path: string,
  host: string,
  headers: Record<string, string>,
  body: Uint8Array | string,
  o: { keepAlive: boolean; method?: "GET" | "POST" },
): Uint8Array {
  const get = o.method === "GET";
  if (get && body.length) throw new TypeError("Request with GET/HEAD method cannot have body.");
  const length = typeof body !== "string"
    ? body.length
    : NON_ASCII.test(body)
    ? encoder.encode(body).length
    : body.length;
  const head = `${get ? "GET" : "POST"} ${path} HTTP/1.1\r\nhost: ${host}\r\n${
    headerLines(headers)
  }${get ? "" : `content-length: ${length}\r\n`}${o.keepAlive ? "" : "connection: close\r\n"}\r\n`;
  if (typeof body === "string") return encoder.encode(head + body);
  const bytes = encoder.encode(head);
  const out = new Uint8Array(bytes.length + body.length);
  out.set(bytes);
  out.set(body, bytes.length);
  return out;
}

/** The validated head lines of frozen header objects (the /v1 relay's, one per provider). */
const linesOf = new WeakMap<Record<string, string>, string>();

/** `headers` as head lines, checked; kept per object when the object is frozen. */
function headerLines(headers: Record<string, string>): string {
  const known = linesOf.get(headers);
  if (known !== undefined) return known;
  let lines = "";
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (lower === "host" || lower === "content-length" || lower === "connection") continue;
    if (!TOKEN.test(name) || BAD_VALUE.test(String(value))) {
      throw new TypeError(`invalid request header: ${JSON.stringify(name)}`);
    }
    lines += `${lower}: ${value}\r\n`;
  }
  if (Object.isFrozen(headers)) linesOf.set(headers, lines);
  return lines;
}

/** A parsed response head. */
export interface ResponseHead {
  status: number;
  statusText: string;
  /**
   * The header lines as pairs, for a Response's init: Deno validates them there, so building a
   * `Headers` here first would validate (and copy) every value twice.
   */
  headers: [string, string][];
  /** `content-length` (repeated values joined with ", ", as `Headers.get` gives them), or null. */
  length: string | null;
  /** `transfer-encoding` names chunked. */
  chunked: boolean;
  /** HTTP/1.0, or `connection: close`: the connection ends with this response. */
  close: boolean;
}

/** Where the head ends in `buf[0, length)` (the index after its blank line), or -1. */
export function headEnd(buf: Uint8Array, length: number): number {
  let end = -1;
  for (let i = buf.indexOf(10); i !== -1 && i < length; i = buf.indexOf(10, i + 1)) {
    if (
      (i >= 1 && buf[i - 1] === 10) ||
      (i >= 3 && buf[i - 1] === 13 && buf[i - 2] === 10 && buf[i - 3] === 13)
    ) {
      end = i + 1;
      break;
    }
  }
  if ((end === -1 ? length : end) > MAX_HEAD_BYTES) {
    throw new BodyTooLargeError(MAX_HEAD_BYTES, "body");
  }
  return end;
}

/** `buf` twice as large (a head longer than one read), up to one byte over the head cap. */
export function growHead(buf: Uint8Array): Uint8Array {
  if (buf.length > MAX_HEAD_BYTES) throw new BodyTooLargeError(MAX_HEAD_BYTES, "body");
  const next = new Uint8Array(Math.min(buf.length * 2, MAX_HEAD_BYTES + 1));
  next.set(buf);
  return next;
}

/** A header value a `Headers` would refuse (NUL, CR, LF, or not a byte string). */
// deno-lint-ignore no-control-regex
const BAD_HEADER_VALUE = /[\0\r\n]|[^\x00-\xff]/;

/** A repeated header's values joined with ", ", as `Headers.get` gives them. */
const joined = (prev: string | null, value: string) => prev === null ? value : `${prev}, ${value}`;

/** Parses a complete head (`bytes` up to and including its blank line). */
export function parseHead(bytes: Uint8Array): ResponseHead {
  const lines = decoder.decode(bytes).split(/\r?\n/);
  const m = /^HTTP\/1\.([01]) (\d{3})(?: (.*))?$/.exec(lines[0]);
  if (!m) throw new SyntaxError(`malformed status line ${JSON.stringify(lines[0].slice(0, 80))}`);
  const headers: [string, string][] = [];
  let length: string | null = null;
  let encoding: string | null = null;
  let connection: string | null = null;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    if (line === "") continue;
    if (headers.length >= MAX_HEADERS) {
      throw new SyntaxError(`more than ${MAX_HEADERS} header lines`);
    }
    const colon = line.indexOf(":");
    const name = colon > 0 ? line.slice(0, colon) : "";
    if (!TOKEN.test(name)) throw new SyntaxError("malformed header line");
    const value = line.slice(colon + 1).trim();
    if (BAD_HEADER_VALUE.test(value)) throw new SyntaxError(`malformed value of header ${name}`);
    headers.push([name, value]);
    const lower = name.toLowerCase();
    if (lower === "content-length") length = joined(length, value);
    else if (lower === "transfer-encoding") encoding = joined(encoding, value);
    else if (lower === "connection") connection = joined(connection, value);
  }
  const conn = (connection ?? "").toLowerCase();
  return {
    status: Number(m[2]),
    statusText: m[3] ?? "",
    headers,
    length,
    chunked: /chunked/i.test(encoding ?? ""),
    close: m[1] === "0" ? !conn.includes("keep-alive") : conn.includes("close"),
  };
}

/** What one `feed` of a chunked decoder gave. */
export interface Decoded {
  /** The data bytes of this piece (a fresh array), empty when none. */
  data: Uint8Array;
  /** The last chunk and its trailers have been read. */
  ended: boolean;
  /** Where in the piece the body ended (its bytes after that belong to the next response). */
  end: number;
}

/**
 * A decoder of a chunked body fed in pieces split anywhere (size lines, extensions, data, the
 * CRLF after the data, trailers): each `feed` returns the data it completed, in one array.
 */
export function createChunkedDecoder(): {
  feed(buf: Uint8Array, from: number, to: number): Decoded;
} {
  /** `size`: reading a size line; `data`: in a chunk; `crlf`: after one; `trailer`: at the end. */
  let state: "size" | "data" | "crlf" | "trailer" = "size";
  let size = 0;
  let digits = 0;
  let inExtension = false;
  let lineBytes = 0;
  let left = 0;
  let trailerBytes = 0;
  let lineEmpty = true; // the trailer line being read has no bytes yet
  let sawCr = false;

  return {
    feed(buf, from, to) {
      const out = new Uint8Array(to - from);
      let n = 0;
      let at = from;
      while (at < to) {
        if (state === "data") {
          const stop = Math.min(to, at + left);
          out.set(buf.subarray(at, stop), n);
          n += stop - at;
          left -= stop - at;
          at = stop;
          if (left === 0) state = "crlf";
          continue;
        }
        const c = buf[at++];
        if (state === "crlf") {
          if (c === 10) state = "size";
          else if (c !== 13 || sawCr) throw new SyntaxError("chunk data not followed by CRLF");
          sawCr = c === 13;
        } else if (state === "size") {
          if (++lineBytes > MAX_LINE) throw new SyntaxError("chunk-size line too long");
          if (c === 10) {
            if (digits === 0) throw new SyntaxError("chunk-size line without a size");
            lineBytes = digits = 0;
            inExtension = false;
            sawCr = false;
            if (size === 0) state = "trailer";
            else {
              left = size;
              size = 0;
              state = "data";
            }
          } else if (c === 59 || inExtension) inExtension = true; // `;name=value` is ignored
          else if (c === 13 || c === 32 || c === 9) continue;
          else {
            const d = c >= 48 && c <= 57
              ? c - 48
              : (c | 32) >= 97 && (c | 32) <= 102
              ? (c | 32) - 87
              : -1;
            if (d === -1 || ++digits > 12) throw new SyntaxError("malformed chunk size");
            size = size * 16 + d;
          }
        } else {
          if (++trailerBytes > MAX_TRAILERS) throw new SyntaxError("trailers too large");
          if (c === 10) {
            if (lineEmpty) return { data: out.subarray(0, n), ended: true, end: at };
            lineEmpty = true;
          } else if (c !== 13) lineEmpty = false;
        }
      }
      return { data: out.subarray(0, n), ended: false, end: to };
    },
  };
}
