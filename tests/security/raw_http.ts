/**
 * Raw HTTP/1.1 over a TCP socket, for requests `fetch` will not send: a forged `Host`, NUL or
 * unencoded bytes in the target, lying lengths, GET with a body. One request per connection
 * (`Connection: close`), so the response ends when the server closes.
 */

/** What came back: the status (0 when the server closed without answering) and the raw parts. */
export interface RawResponse {
  status: number;
  head: string;
  headers: Map<string, string>;
  body: string;
}

/**
 * Sends `request` (bytes or latin-1 text) to 127.0.0.1:`port`; gives up after `timeoutMs`.
 * `closeWrite` ends our side after sending, so a truncated request cannot leave both sides waiting.
 */
export async function rawRequest(
  port: number,
  request: string | Uint8Array,
  { timeoutMs = 5000, closeWrite = false }: { timeoutMs?: number; closeWrite?: boolean } = {},
): Promise<RawResponse> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const timer = setTimeout(() => {
    try {
      conn.close();
    } catch { /* already closed */ }
  }, timeoutMs);
  const chunks: Uint8Array[] = [];
  try {
    const bytes = typeof request === "string"
      ? Uint8Array.from(request, (ch) => ch.charCodeAt(0) & 0xff)
      : request;
    try {
      for (let off = 0; off < bytes.length;) off += await conn.write(bytes.subarray(off));
      if (closeWrite) await conn.closeWrite();
    } catch { /* the server may answer and close before reading everything */ }
    const buf = new Uint8Array(16 * 1024);
    for (;;) {
      const n = await conn.read(buf).catch(() => null);
      if (n === null) break;
      chunks.push(buf.slice(0, n));
      if (complete(concat(chunks))) break; // the server may keep the connection open
    }
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch { /* already closed */ }
  }
  const all = concat(chunks);
  const split = headerEnd(all);
  const head = new TextDecoder().decode(split === -1 ? all : all.subarray(0, split));
  const lines = head.split("\r\n");
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? "")?.[1] ?? 0);
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const i = line.indexOf(":");
    if (i > 0) headers.set(line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim());
  }
  let body = split === -1 ? new Uint8Array(0) : all.subarray(split + 4);
  if (headers.get("transfer-encoding")?.includes("chunked")) body = dechunk(body);
  return { status, head, headers, body: new TextDecoder().decode(body) };
}

function headerEnd(all: Uint8Array): number {
  for (let i = 0; i + 3 < all.length; i++) {
    if (all[i] === 13 && all[i + 1] === 10 && all[i + 2] === 13 && all[i + 3] === 10) return i;
  }
  return -1;
}

/** True once `all` holds one whole response (by Content-Length or the last chunk). */
function complete(all: Uint8Array): boolean {
  const end = headerEnd(all);
  if (end === -1) return false;
  const head = new TextDecoder().decode(all.subarray(0, end)).toLowerCase();
  const length = /\r\ncontent-length:\s*(\d+)/.exec(head);
  if (length) return all.length - (end + 4) >= Number(length[1]);
  if (/\r\ntransfer-encoding:[^\r]*chunked/.test(head)) {
    const tail = new TextDecoder().decode(all.subarray(Math.max(end, all.length - 7)));
    return tail.endsWith("0\r\n\r\n");
  }
  return false;
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

function dechunk(body: Uint8Array): Uint8Array {
  const parts: Uint8Array[] = [];
  let pos = 0;
  for (;;) {
    let eol = pos;
    while (eol + 1 < body.length && !(body[eol] === 13 && body[eol + 1] === 10)) eol++;
    if (eol + 1 >= body.length) break;
    const size = parseInt(new TextDecoder().decode(body.subarray(pos, eol)), 16);
    if (!size) break;
    parts.push(body.subarray(eol + 2, eol + 2 + size));
    pos = eol + 2 + size + 2;
  }
  return concat(parts);
}
