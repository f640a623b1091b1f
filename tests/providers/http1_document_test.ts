/**
 * Non-streamed answers (one Content-Length JSON document) over the raw HTTP/1.1 client, read the
 * way the /v1 relay reads them (lib/providers/http.ts `readUpstream`, its cap and per-read touch):
 * whole and byte-identical, over the cap refused, a connection cut mid-document and an abort while
 * the document is pending both end the read with fetch's errors, and the upstream sees the close.
 */
import { assert, assertEquals, assertRejects } from "../assert.ts";
import { BodyTooLargeError, networkDetail } from "../../lib/providers/errors.ts";
import { bufferedBody, createUpstreamClient } from "../../lib/providers/http1_client.ts";
import { readUpstream } from "../../lib/providers/http.ts";
import { rawServer, write } from "./raw_server.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const unused: typeof fetch = () => Promise.reject(new Error("fallback used"));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const call = (c: typeof fetch, url: string, init: RequestInit = {}) =>
  c(`${url}/v1/chat/completions`, { method: "POST", body: "{}", ...init });

/** Resolves once the client closed its side of `conn` (a read sees EOF or a reset). */
async function untilClosed(conn: Deno.Conn): Promise<void> {
  const buf = new Uint8Array(64);
  for (let i = 0; i < 1000; i++) {
    if ((await conn.read(buf).catch(() => null)) === null) return;
  }
}

Deno.test("a Content-Length document larger than one read arrives whole, byte-identical, and its connection serves the next", async () => {
  const doc = JSON.stringify({ choices: [{ message: { content: "é".repeat(60_000) } }] });
  const bytes = encoder.encode(doc);
  let connections = 0;
  const server = rawServer(async (conn) => {
    connections++;
    await write(conn, `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n`);
    await write(conn, `content-length: ${bytes.length}\r\n\r\n${doc.slice(0, 5000)}`);
    await sleep(10);
    await write(conn, doc.slice(5000));
    // keep-alive: the next request on this connection
    const next = await conn.read(new Uint8Array(4096)).catch(() => null);
    if (next !== null) {
      await write(conn, "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}");
      await untilClosed(conn);
    }
  });
  const shutdown = new AbortController();
  const c = createUpstreamClient({ fallback: unused, shutdown: shutdown.signal });
  let touches = 0;
  const res = await call(c, server.url);
  assertEquals(res.headers.get("content-length"), String(bytes.length));
  const got = await readUpstream(res, 32 * 1024 * 1024, () => touches++);
  assertEquals(got, bytes);
  assert(touches >= 2, "every read in between touches the idle clock");
  assertEquals(decoder.decode(await readUpstream(await call(c, server.url), 1024)), "{}");
  assertEquals(connections, 1);
  shutdown.abort();
  await server.close();
});

Deno.test("a document declared over the cap is refused unread and its connection closed, not kept", async () => {
  let gone = false;
  let connections = 0;
  const server = rawServer(async (conn) => {
    connections++;
    await write(conn, 'HTTP/1.1 200 OK\r\ncontent-length: 50000000\r\n\r\n{"a":');
    await untilClosed(conn);
    gone = true;
  });
  const shutdown = new AbortController();
  const c = createUpstreamClient({ fallback: unused, shutdown: shutdown.signal });
  const res = await call(c, server.url);
  await assertRejects(() => readUpstream(res, 32 * 1024 * 1024), BodyTooLargeError);
  await call(c, server.url).then((r) => r.body?.cancel());
  assertEquals(connections, 2, "the refused answer's connection was not reused");
  shutdown.abort();
  await server.close();
  assert(gone);
});

Deno.test("an undeclared document over the cap stops the read at the cap and closes the connection", async () => {
  let sent = 0;
  const server = rawServer(async (conn) => {
    await write(conn, "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n");
    try {
      for (let i = 0; i < 10_000; i++) {
        await write(conn, `400\r\n${"x".repeat(1024)}\r\n`);
        sent += 1024;
      }
    } catch { /* the client closed */ }
  });
  const res = await call(createUpstreamClient({ fallback: unused }), server.url);
  await assertRejects(() => readUpstream(res, 64 * 1024), BodyTooLargeError);
  await server.close();
  assert(sent < 10_000 * 1024, `the upstream was stopped (sent ${sent} bytes)`);
});

Deno.test("a connection closed mid-document is fetch's 'closed mid-response' error", async () => {
  const server = rawServer(async (conn) => {
    await write(conn, 'HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{"choices":[');
    await sleep(20);
  }); // then the server closes: 88 bytes short
  const res = await call(createUpstreamClient({ fallback: unused }), server.url);
  const e = await assertRejects(() => readUpstream(res, 1024), TypeError);
  assertEquals(networkDetail(e), "the connection was closed mid-response");
  await server.close();
});

Deno.test("an abort while the document is pending ends the read and the upstream sees the close", async () => {
  let peerGone: () => void;
  const gone = new Promise<void>((r) => peerGone = r);
  const server = rawServer(async (conn) => {
    await write(conn, 'HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n{"choices":[');
    await untilClosed(conn);
    peerGone();
  });
  const ac = new AbortController();
  const res = await call(createUpstreamClient({ fallback: unused }), server.url, {
    signal: ac.signal,
  });
  const reading = readUpstream(res, 1024);
  await sleep(30);
  ac.abort();
  const e = await assertRejects(() => reading);
  assertEquals((e as Error).name, "AbortError");
  await gone;
  await server.close();
});

Deno.test("a document that came with its head is given whole, and stays intact when the next answer reuses the read buffer", async () => {
  const docs = ['{"choices":[{"text":"first answer"}]}', '{"x":"second"}'];
  let i = 0;
  const server = rawServer(async (conn) => {
    const doc = docs[i++ % 2];
    await write(
      conn,
      `HTTP/1.1 200 OK\r\ncontent-length: ${encoder.encode(doc).length}\r\n\r\n${doc}`,
    );
    await untilClosed(conn);
  });
  const c = createUpstreamClient({ fallback: unused }); // a connection per request
  const first = await call(c, server.url);
  const whole = bufferedBody(first)!;
  assertEquals(decoder.decode(whole), docs[0]);
  const second = await call(c, server.url);
  assertEquals(decoder.decode(bufferedBody(second)!), docs[1]);
  assertEquals(decoder.decode(whole), docs[0], "the first answer's bytes were not overwritten");
  assertEquals(await first.text(), docs[0], "res.body gives the same bytes");
  // A body that did not come whole has none.
  const streamed = rawServer(async (conn) => {
    await write(conn, "HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\n{}");
    await sleep(20);
    await write(conn, "  ");
  });
  const res = await call(c, streamed.url);
  assertEquals(bufferedBody(res), null);
  assertEquals(await res.text(), "{}  ");
  await server.close();
  await streamed.close();
});
