/**
 * A raw HTTP/1.1 server on 127.0.0.1 for the upstream client's tests: it reads one request per
 * connection and lets a script write hand-made answers (split anywhere, cut, slow), which
 * Deno.serve would never send.
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** What the raw server saw of one request. */
export interface Seen {
  head: string;
  body: Uint8Array;
}

/**
 * A raw server: reads one request per connection (head and Content-Length body), then `script`
 * writes whatever it likes. `closed` resolves when a connection's peer went away.
 */
export function rawServer(script: (conn: Deno.Conn, seen: Seen) => Promise<void>) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const seen: Seen[] = [];
  const done: Promise<void>[] = [];
  (async () => {
    for await (const conn of listener) {
      done.push((async () => {
        try {
          const s = await readRequest(conn);
          seen.push(s);
          await script(conn, s);
        } catch { /* the client went away */ }
        try {
          conn.close();
        } catch { /* closed */ }
      })());
    }
  })();
  return {
    url: `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    seen,
    async close() {
      listener.close();
      await Promise.all(done);
    },
  };
}

export async function readRequest(conn: Deno.Conn): Promise<Seen> {
  let bytes = new Uint8Array(0);
  const buf = new Uint8Array(4096);
  for (;;) {
    const text = decoder.decode(bytes);
    const end = text.indexOf("\r\n\r\n");
    if (end !== -1) {
      const length = Number(/content-length: (\d+)/i.exec(text)?.[1] ?? 0);
      const headBytes = encoder.encode(text.slice(0, end + 4)).length;
      if (bytes.length >= headBytes + length) {
        return { head: text.slice(0, end), body: bytes.slice(headBytes, headBytes + length) };
      }
    }
    const n = await conn.read(buf);
    if (n === null) throw new Error("request cut");
    const next = new Uint8Array(bytes.length + n);
    next.set(bytes);
    next.set(buf.subarray(0, n), bytes.length);
    bytes = next;
  }
}

export async function write(conn: Deno.Conn, text: string) {
  const bytes = encoder.encode(text);
  for (let w = 0; w < bytes.length;) w += await conn.write(bytes.subarray(w));
}
