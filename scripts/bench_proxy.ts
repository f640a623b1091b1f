/**
 * The benchmark's reference hops: the least a Deno proxy can do.
 * - `native` (default): read the body, fetch upstream, hand the upstream body to the response so
 *   Deno pipes it natively (no JavaScript per chunk).
 * - `js`: the same, but the body goes through JavaScript the way a relay that must see the bytes
 *   does (idle timeout, usage stripping): a BYOB read into one buffer, a copy, an enqueue, nothing
 *   else. "deepstudio − js" is what deepstudio's own per-chunk logic costs, "js − native" what
 *   touching every chunk in JavaScript costs on Deno.
 * - `raw`: the `js` hop's JavaScript pass, but the upstream is read over a raw socket
 *   (Deno.connect, an HTTP/1.1 request written by hand, 64 KiB reads, chunked encoding decoded
 *   here): every frame the upstream wrote since the last read arrives in one read and leaves as
 *   one enqueue, so the per-read cost is shared by many frames. "raw − js" is what Deno's fetch
 *   costs by handing JavaScript one chunked-encoding chunk (one SSE frame) per read.
 * None has any of the gateway's work (no idle timeout, no error mapping, no usage stripping, no
 * abort bookkeeping beyond the signal).
 * Run: `deno run --allow-net scripts/bench_proxy.ts <upstream origin> [native|js|raw]`.
 */
const upstream = Deno.args[0];
const mode = Deno.args[1] ?? "native";

function jsBody(body: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
  const reader = body.getReader({ mode: "byob" });
  let buffer = new Uint8Array(4096);
  return new ReadableStream<Uint8Array>({
    async pull(c) {
      const r = await reader.read(buffer);
      if (r.done || !r.value) return c.close();
      c.enqueue(r.value.slice());
      buffer = new Uint8Array(r.value.buffer);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  }, { highWaterMark: 8 });
}

const encoder = new TextEncoder();

/** Decodes a chunked body fed in arbitrary pieces; `feed` returns the data bytes and whether it ended. */
function chunkedDecoder() {
  let left = -1; // data bytes left in the current chunk; -1 while reading a size line
  let size = 0;
  let skip = 0; // the CRLF after a chunk's data
  let ext = false;
  return (buf: Uint8Array, from: number, to: number, out: Uint8Array): [number, boolean] => {
    let n = 0;
    let at = from;
    while (at < to) {
      if (skip > 0) {
        at++;
        skip--;
      } else if (left === -1) {
        const c = buf[at++];
        if (c === 10) {
          if (size === 0) return [n, true];
          left = size;
          size = 0;
          ext = false;
        } else if (c === 59) ext = true;
        else if (c !== 13 && !ext) size = size * 16 + (c <= 57 ? c - 48 : (c | 32) - 87);
      } else {
        const stop = Math.min(to, at + left);
        out.set(buf.subarray(at, stop), n);
        n += stop - at;
        left -= stop - at;
        at = stop;
        if (left === 0) {
          left = -1;
          skip = 2;
        }
      }
    }
    return [n, false];
  };
}

async function rawFetch(req: Request): Promise<Response> {
  const u = new URL(upstream);
  const payload = req.method === "POST" ? new Uint8Array(await req.arrayBuffer()) : null;
  const conn = await Deno.connect({ hostname: u.hostname, port: Number(u.port) });
  const head = encoder.encode(
    `${req.method} ${new URL(req.url).pathname} HTTP/1.1\r\nhost: ${u.host}\r\n` +
      `content-type: application/json\r\ncontent-length: ${payload?.length ?? 0}\r\n` +
      `connection: close\r\n\r\n`,
  );
  const request = new Uint8Array(head.length + (payload?.length ?? 0));
  request.set(head);
  if (payload) request.set(payload, head.length);
  for (let w = 0; w < request.length;) w += await conn.write(request.subarray(w));
  const buf = new Uint8Array(64 * 1024);
  let have = 0;
  let end = -1;
  while (end === -1) {
    const n = await conn.read(buf.subarray(have));
    if (n === null) throw new Error("no response head");
    have += n;
    for (let i = 3; i < have; i++) {
      if (buf[i] === 10 && buf[i - 1] === 13 && buf[i - 2] === 10 && buf[i - 3] === 13) {
        end = i + 1;
        break;
      }
    }
  }
  const text = new TextDecoder().decode(buf.subarray(0, end)).toLowerCase();
  const status = Number(text.slice(9, 12));
  const type = /\ncontent-type: *([^\r]*)/.exec(text)?.[1] ?? "application/json";
  const chunked = text.includes("transfer-encoding: chunked");
  const decode = chunkedDecoder();
  let first: [number, number] | null = [end, have];
  let done = false;
  const close = () => {
    try {
      conn.close();
    } catch { /* closed */ }
  };
  req.signal.addEventListener("abort", close);
  const body = new ReadableStream<Uint8Array>({
    async pull(c) {
      // Loops until something is enqueued: a pull that enqueues nothing is not called again.
      for (;;) {
        let from = 0, to = 0;
        if (first) {
          [from, to] = first;
          first = null;
        } else {
          const n = done ? null : await conn.read(buf);
          if (n === null) {
            close();
            return c.close();
          }
          to = n;
        }
        if (!chunked) {
          if (to === from) continue;
          return c.enqueue(buf.slice(from, to));
        }
        const out = new Uint8Array(to - from);
        const [n, ended] = decode(buf, from, to, out);
        if (n > 0) c.enqueue(out.subarray(0, n));
        if (ended) {
          done = true;
          close();
          return c.close();
        }
        if (n > 0) return;
      }
    },
    cancel: close,
  }, { highWaterMark: 8 });
  return new Response(body, { status, headers: { "content-type": type } });
}

Deno.serve({
  hostname: "127.0.0.1",
  port: 0,
  onListen: ({ port }) => console.log(JSON.stringify({ port })),
}, async (req) => {
  if (mode === "raw") return await rawFetch(req);
  const res = await fetch(`${upstream}${new URL(req.url).pathname}`, {
    method: req.method,
    headers: { "content-type": "application/json" },
    body: req.method === "POST" ? await req.text() : undefined,
    signal: req.signal,
  });
  const body = mode === "js" && res.body ? jsBody(res.body) : res.body;
  return new Response(body, {
    status: res.status,
    headers: { "content-type": res.headers.get("content-type") ?? "application/json" },
  });
});

// Exit cleanly on SIGTERM so a `--cpu-prof` run writes its profile.
Deno.addSignalListener("SIGTERM", () => Deno.exit(0));
