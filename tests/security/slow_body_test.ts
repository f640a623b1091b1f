/**
 * A client that sends its headers and then trickles (or withholds) the body cannot hold a request
 * (its handler, its partial body) open: the body has `bodyTimeoutMs` to arrive whole, then the
 * answer is 408 with `connection: close`. Deno itself keeps the socket until the client sends the
 * rest or leaves, and does not let the app close it; that, like headers that never complete and idle
 * keep-alive sockets, is written down in docs/security.md.
 */
import { assertStringIncludes } from "../assert.ts";
import { serve, testApp } from "../helpers.ts";

async function rig() {
  const t = await testApp({ config: { bodyTimeoutMs: 300 } });
  const s = serve(t.app);
  return {
    port: s.server.addr.port,
    async close() {
      await s.close();
      t.close();
    },
  };
}

/** Sends `head` and part of a body, then reads until one whole response has arrived. */
async function withheld(port: number, head: string): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  // Generous bound so an app that never answers fails the test instead of hanging it.
  const giveUp = setTimeout(() => conn.close(), 20_000);
  try {
    await conn.write(new TextEncoder().encode(head));
    const buf = new Uint8Array(8192);
    let response = "";
    for (;;) {
      const n = await conn.read(buf).catch(() => null);
      if (n === null) return response;
      response += new TextDecoder().decode(buf.subarray(0, n));
      const split = response.indexOf("\r\n\r\n");
      const length = /content-length: (\d+)/i.exec(response)?.[1];
      if (split !== -1 && length && response.length >= split + 4 + Number(length)) return response;
    }
  } finally {
    clearTimeout(giveUp);
    try {
      conn.close();
    } catch { /* closed */ }
  }
}

for (
  const [name, framing] of [
    ["a Content-Length body", 'Content-Length: 100\r\n\r\n{"llm.temp'],
    ["a chunked body", 'Transfer-Encoding: chunked\r\n\r\n5\r\n{"llm\r\n'],
  ]
) {
  // The gateway's readers enforce the deadline themselves (lib/http/body.ts setBodyDeadline);
  // every other route's body is wrapped (withReadDeadline): both paths are covered.
  for (
    const [route, kind] of [
      ["PATCH /api/settings", '"kind":"request_timeout"'],
      ["POST /v1/chat/completions", '"code":"request_timeout"'],
    ]
  ) {
    Deno.test(`${name} that stops arriving gets 408 with connection: close (${route})`, async () => {
      const r = await rig();
      try {
        const response = await withheld(
          r.port,
          `${route} HTTP/1.1\r\nHost: 127.0.0.1:${r.port}\r\n` +
            `Content-Type: application/json\r\n${framing}`,
        );
        assertStringIncludes(response, "HTTP/1.1 408");
        assertStringIncludes(response, kind);
        assertStringIncludes(response.toLowerCase(), "connection: close");
      } finally {
        await r.close();
      }
    });
  }
}
