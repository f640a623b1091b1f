/**
 * A misbehaving upstream on raw TCP (`Deno.listen`, no HTTP library): it forwards every request to
 * a real fake server and relays the answer, except chat completions, which it breaks on the wire:
 * - `{ chat: "cut", cutAfterEvents }`: the stream's TCP connection is closed after that many SSE
 *   events, with no terminating zero-length chunk. That is what deepstudio sees when LM Studio
 *   crashes or is killed mid-answer: a real connection close, not an in-process stream error that
 *   a server library might turn into something tidier.
 * - `{ chat: "hold" }`: the request is read and never answered (no status line, no headers), and
 *   the proxy notices when the client closes the socket. Deno.serve (the fakes' server) does not
 *   report a client that leaves before the headers once the request body is a few hundred bytes,
 *   so "the upstream request was dropped" is observed here, on the socket.
 *
 * Every answer is HTTP/1.1 with `connection: close` (one request per connection), so the proxy
 * needs no keep-alive handling; bodies of non-stream answers are sent with `content-length`.
 */

const CRLF = new TextEncoder().encode("\r\n");
const HEAD_END = "\r\n\r\n";
const encoder = new TextEncoder();
const MAX_HEAD = 64 * 1024;

/** How chat completions are broken. */
export type ProxyFault =
  | { chat: "cut"; cutAfterEvents: number }
  | { chat: "end"; cutAfterEvents: number }
  | { chat: "hold" };

/** A running fault proxy. */
export interface FaultProxy {
  /** `http://127.0.0.1:<port>`: use it as the provider URL. */
  url: string;
  port: number;
  /** Streams whose connection the proxy cut. */
  readonly cuts: number;
  /** Chat requests held unanswered so far. */
  readonly held: number;
  /** Held requests whose client closed the socket (it gave up on the upstream). */
  readonly dropped: number;
  /** Resolves once `count` held requests have had their socket closed by the client. */
  waitDropped(count?: number): Promise<void>;
  close(): Promise<void>;
}

interface RawRequest {
  method: string;
  path: string;
  headers: Headers;
  body: Uint8Array;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  let at = 0;
  while (at < data.length) at += await conn.write(data.subarray(at));
}

/** Reads one request (head and a content-length body) off the socket; null if it closed. */
async function readRequest(conn: Deno.Conn): Promise<RawRequest | null> {
  let buf: Uint8Array = new Uint8Array(0);
  const chunk = new Uint8Array(16 * 1024);
  let headEnd = -1;
  while (headEnd < 0) {
    const n = await conn.read(chunk);
    if (n === null) return null;
    buf = concat(buf, chunk.subarray(0, n));
    headEnd = new TextDecoder().decode(buf).indexOf(HEAD_END);
    if (headEnd < 0 && buf.length > MAX_HEAD) return null;
  }
  const headText = new TextDecoder().decode(buf).slice(0, headEnd);
  const headBytes = encoder.encode(headText + HEAD_END).length;
  const [requestLine, ...lines] = headText.split("\r\n");
  const [method, path] = requestLine.split(" ");
  const headers = new Headers();
  for (const line of lines) {
    const i = line.indexOf(":");
    if (i > 0) headers.append(line.slice(0, i).trim(), line.slice(i + 1).trim());
  }
  const length = Number(headers.get("content-length") ?? "0");
  let body: Uint8Array = buf.subarray(headBytes);
  while (body.length < length) {
    const n = await conn.read(chunk);
    if (n === null) break;
    body = concat(body, chunk.subarray(0, n));
  }
  return { method, path, headers, body: body.subarray(0, length) };
}

function head(status: number, statusText: string, headers: Record<string, string>): Uint8Array {
  const lines = [`HTTP/1.1 ${status} ${statusText || "OK"}`];
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  return encoder.encode(lines.join("\r\n") + HEAD_END);
}

/** Starts the proxy in front of `target` (e.g. a fake LM Studio's URL). */
export function startFaultProxy(target: string, fault: ProxyFault): FaultProxy {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.Conn>();
  const upstreams = new Set<AbortController>();
  let cuts = 0;
  let held = 0;
  let dropped = 0;
  let onDrop: { count: number; resolve: () => void }[] = [];

  /** Reads until the client closes its side (it sends nothing more after its request). */
  async function hold(conn: Deno.Conn): Promise<void> {
    held++;
    const sink = new Uint8Array(1024);
    try {
      while ((await conn.read(sink)) !== null) { /* ignore */ }
    } catch { /* reset by the client, or closed by close() */ }
    dropped++;
    onDrop = onDrop.filter((w) => (dropped >= w.count ? (w.resolve(), false) : true));
  }

  async function relayStream(conn: Deno.Conn, res: Response): Promise<void> {
    await writeAll(
      conn,
      head(res.status, res.statusText, {
        "content-type": res.headers.get("content-type") ?? "text/event-stream",
        "cache-control": "no-cache",
        "transfer-encoding": "chunked",
        connection: "close",
      }),
    );
    const reader = res.body!.getReader();
    let pending: Uint8Array = new Uint8Array(0);
    let sent = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      pending = concat(pending, value);
      // One HTTP chunk per SSE event, so the cut falls exactly between two events.
      for (;;) {
        const text = new TextDecoder().decode(pending);
        const end = text.indexOf("\n\n");
        if (end < 0) break;
        const event = encoder.encode(text.slice(0, end + 2));
        pending = pending.subarray(event.length);
        await writeAll(conn, encoder.encode(event.length.toString(16)));
        await writeAll(conn, CRLF);
        await writeAll(conn, event);
        await writeAll(conn, CRLF);
        if (fault.chat !== "hold" && ++sent >= fault.cutAfterEvents) {
          cuts++;
          await reader.cancel().catch(() => {});
          // "cut": the caller closes the socket with no "0\r\n\r\n", the body is cut.
          // "end": a well-formed end of the body, but before finish_reason and [DONE].
          if (fault.chat === "end") await writeAll(conn, encoder.encode("0\r\n\r\n"));
          return;
        }
      }
    }
    await writeAll(conn, encoder.encode("0\r\n\r\n"));
  }

  async function handle(conn: Deno.Conn): Promise<void> {
    const req = await readRequest(conn);
    if (!req) return;
    if (fault.chat === "hold" && req.path.endsWith("/chat/completions")) return await hold(conn);
    const headers = new Headers(req.headers);
    for (const h of ["host", "connection", "content-length", "transfer-encoding"]) {
      headers.delete(h);
    }
    const ctrl = new AbortController();
    upstreams.add(ctrl);
    try {
      const res = await fetch(`${target}${req.path}`, {
        method: req.method,
        headers,
        body: req.body.length ? new Uint8Array(req.body) : undefined,
        signal: ctrl.signal,
      });
      const type = res.headers.get("content-type") ?? "";
      if (type.includes("text/event-stream") && res.body) return await relayStream(conn, res);
      const body = new Uint8Array(await res.arrayBuffer());
      await writeAll(
        conn,
        head(res.status, res.statusText, {
          "content-type": type || "application/json",
          "content-length": String(body.length),
          connection: "close",
        }),
      );
      await writeAll(conn, body);
    } finally {
      upstreams.delete(ctrl);
    }
  }

  const accepting = (async () => {
    for await (const conn of listener) {
      conns.add(conn);
      handle(conn).catch(() => {}).finally(() => {
        conns.delete(conn);
        try {
          conn.close();
        } catch { /* already closed */ }
      });
    }
  })().catch(() => {});

  const port = (listener.addr as Deno.NetAddr).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    get cuts() {
      return cuts;
    },
    get held() {
      return held;
    },
    get dropped() {
      return dropped;
    },
    waitDropped(count = 1) {
      if (dropped >= count) return Promise.resolve();
      return new Promise((resolve) => onDrop.push({ count, resolve }));
    },
    async close() {
      listener.close();
      for (const c of upstreams) c.abort();
      for (const c of conns) {
        try {
          c.close();
        } catch { /* gone */ }
      }
      await accepting;
    },
  };
}
