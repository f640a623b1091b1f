/**
 * The raw HTTP/1.1 upstream client (lib/providers/http1_client.ts) against real servers on
 * 127.0.0.1: Deno.serve for the ordinary case, and a raw Deno.listen server writing hand-made
 * responses (chunked bodies split anywhere, extensions, trailers, resets, slow heads).
 */
import { assert, assertEquals, assertRejects, assertStringIncludes } from "../assert.ts";
import { BodyTooLargeError, networkDetail } from "../../lib/providers/errors.ts";
import { createUpstreamClient, proxyConfigured } from "../../lib/providers/http1_client.ts";
import { createChunkedDecoder, requestBytes } from "../../lib/providers/http1_wire.ts";
import { rawServer, readRequest, write } from "./raw_server.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const unused: typeof fetch = () => Promise.reject(new Error("fallback used"));
const client = createUpstreamClient({ fallback: unused });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function post(url: string, init: RequestInit = {}) {
  return client(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: "{}",
    ...init,
  });
}

Deno.test("the request arrives with its exact body bytes, the Host header and the caller's headers", async () => {
  let got: { body: Uint8Array; host: string | null; auth: string | null } | null = null;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    got = {
      body: new Uint8Array(await req.arrayBuffer()),
      host: req.headers.get("host"),
      auth: req.headers.get("authorization"),
    };
    return new Response('data: {"a":1}\n\ndata: [DONE]\n\n', {
      headers: { "content-type": "text/event-stream" },
    });
  });
  const url = `http://127.0.0.1:${server.addr.port}`;
  const body = JSON.stringify({ messages: [{ role: "user", content: "héllo ✓ \u{1F600}" }] });
  const res = await post(url, { body, headers: { authorization: "Bearer k" } });
  assertEquals(res.status, 200);
  assertEquals(res.headers.get("content-type"), "text/event-stream");
  assertEquals(await res.text(), 'data: {"a":1}\n\ndata: [DONE]\n\n');
  assertEquals(got!.body, encoder.encode(body));
  assertEquals(got!.host, `127.0.0.1:${server.addr.port}`);
  assertEquals(got!.auth, "Bearer k");
  await server.shutdown();
});

Deno.test("a chunked body split anywhere, with extensions and trailers, decodes to its data", async () => {
  const wire = "5;name=value\r\nhello\r\n1A\r\n abcdefghijklmnopqrstuvwxy\r\n" +
    '3;a;b="c"\r\n!!!\r\n0;last\r\nx-trailer: 1\r\nx-other: 2\r\n\r\n';
  const want = "hello abcdefghijklmnopqrstuvwxy!!!";
  // Every split of the wire in two, through the decoder, and over a real socket in pieces.
  const bytes = encoder.encode(wire);
  for (let cut = 0; cut <= bytes.length; cut++) {
    const d = createChunkedDecoder();
    const a = d.feed(bytes, 0, cut);
    const b = a.ended ? { data: new Uint8Array(0), ended: true } : d.feed(bytes, cut, bytes.length);
    assertEquals(decoder.decode(a.data) + decoder.decode(b.data), want, `cut at ${cut}`);
    assert(b.ended, `ended, cut at ${cut}`);
  }
  const server = rawServer(async (conn) => {
    await write(
      conn,
      "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n\r\n",
    );
    for (let i = 0; i < wire.length; i += 7) {
      await write(conn, wire.slice(i, i + 7));
      await sleep(1);
    }
    await sleep(50); // the body ended at the 0-chunk, not at the close
  });
  const t0 = performance.now();
  const res = await post(server.url);
  assertEquals(await res.text(), want);
  assert(performance.now() - t0 < 5000);
  await server.close();
});

Deno.test("a body ends at its Content-Length, or with the connection when it has neither", async () => {
  const server = rawServer(async (conn, seen) => {
    if (decoder.decode(seen.body) === "length") {
      await write(conn, "HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello");
      await sleep(50);
    } else await write(conn, "HTTP/1.0 200 OK\r\ncontent-type: text/plain\r\n\r\nuntil the end");
  });
  assertEquals(await (await post(server.url, { body: "length" })).text(), "hello");
  assertEquals(await (await post(server.url, { body: "close" })).text(), "until the end");
  await server.close();
});

Deno.test("a connection closed mid-body (no 0-chunk) is fetch's 'closed mid-response' error", async () => {
  const server = rawServer(async (conn) => {
    await write(conn, "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n");
    await sleep(20);
    conn.close(); // mid-body: no 0-chunk
  });
  const res = await post(server.url);
  const reader = res.body!.getReader();
  assertEquals(decoder.decode((await reader.read()).value), "hello");
  const e = await assertRejects(() => reader.read(), TypeError);
  assertEquals(networkDetail(e), "the connection was closed mid-response");
  await server.close();
});

Deno.test("a refused connection is fetch's connection error", async () => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  const e = await assertRejects(() => post(`http://127.0.0.1:${port}`), TypeError);
  assertEquals(networkDetail(e), "connection refused");
});

Deno.test("an abort while the head is slow rejects at once and closes the socket", async () => {
  let peerGone: () => void;
  const gone = new Promise<void>((r) => peerGone = r);
  const server = rawServer(async (conn) => {
    const n = await conn.read(new Uint8Array(16)).catch(() => null);
    if (n === null) peerGone();
  });
  const ac = new AbortController();
  const pending = post(server.url, { signal: ac.signal });
  await sleep(50);
  ac.abort();
  const e = await assertRejects(() => pending);
  assertEquals((e as Error).name, "AbortError");
  await gone; // the upstream saw the disconnect
  await server.close();
});

Deno.test("an abort mid-body errors the read and the upstream sees the close", async () => {
  let peerGone: () => void;
  const gone = new Promise<void>((r) => peerGone = r);
  const server = rawServer(async (conn) => {
    await write(conn, "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n");
    try {
      for (let i = 0; i < 1000; i++) {
        await write(conn, "6\r\ndata\n\n\r\n");
        await sleep(5);
      }
    } catch {
      peerGone();
    }
  });
  const ac = new AbortController();
  const res = await post(server.url, { signal: ac.signal });
  const reader = res.body!.getReader();
  assert((await reader.read()).value!.length > 0);
  ac.abort();
  const e = await assertRejects(() => reader.read());
  assertEquals((e as Error).name, "AbortError");
  await gone;
  await server.close();
});

Deno.test("malformed heads and over-cap heads are typed errors", async () => {
  const server = rawServer(async (conn, seen) => {
    if (decoder.decode(seen.body) === "big") {
      await write(conn, `HTTP/1.1 200 OK\r\nx-big: ${"a".repeat(100_000)}\r\n\r\n`);
    } else if (decoder.decode(seen.body) === "status") await write(conn, "ICY 200 OK\r\n\r\n");
    else await write(conn, "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n");
  });
  await assertRejects(() => post(server.url, { body: "big" }), BodyTooLargeError);
  await assertRejects(() => post(server.url, { body: "status" }), SyntaxError);
  const res = await post(server.url, { body: "size" });
  await assertRejects(() => res.text(), SyntaxError);
  await server.close();
});

Deno.test("header values that would split the request head are refused", async () => {
  await assertRejects(
    () => post("http://127.0.0.1:1", { headers: { authorization: "Bearer a\r\nx-evil: 1" } }),
    TypeError,
  );
});

Deno.test("a GET goes over the raw socket with no body and no content-length, kept alive", async () => {
  const server = rawServer(async (conn) => {
    await write(
      conn,
      'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 11\r\n\r\n{"data":[]}',
    );
  });
  const stop = new AbortController();
  const kept = createUpstreamClient({ fallback: unused, shutdown: stop.signal });
  const res = await kept(`${server.url}/v1/models?x=1`, { headers: { authorization: "Bearer k" } });
  assertEquals(res.status, 200);
  assertEquals(await res.json(), { data: [] });
  const [head, ...lines] = server.seen[0].head.split("\r\n");
  assertEquals(head, "GET /v1/models?x=1 HTTP/1.1");
  assertEquals(lines.sort(), ["authorization: Bearer k", `host: ${server.url.slice(7)}`]);
  assertEquals(server.seen[0].body.length, 0);
  await assertRejects(() => kept(`${server.url}/v1/models`, { method: "GET", body: "x" }), Error);
  stop.abort();
  await server.close();
});

Deno.test("https, other methods, Headers objects and a configured proxy go to the fallback fetch", async () => {
  const calls: string[] = [];
  const fallback: typeof fetch = (input) => {
    calls.push(String(input));
    return Promise.resolve(new Response("fallback"));
  };
  const c = createUpstreamClient({ fallback });
  await c("https://example.invalid/v1", { method: "POST", body: "{}" });
  await c("http://127.0.0.1:1/v1/models", { method: "DELETE" });
  await c("http://127.0.0.1:1/v1", { method: "POST", body: "{}", headers: new Headers() });
  const proxied = createUpstreamClient({ fallback, env: { HTTP_PROXY: "http://proxy:3128" } });
  await proxied("http://127.0.0.1:1/v1", { method: "POST", body: "{}" });
  assertEquals(calls.length, 4);
  assert(proxyConfigured({ https_proxy: undefined, all_proxy: "socks5://x" }));
  assert(!proxyConfigured({}));
});

Deno.test("a kept-alive connection serves the next request; shutdown closes it", async () => {
  const ports: number[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (_req, info) => {
      ports.push(info.remoteAddr.port);
      return new Response("data: {}\n\n", { headers: { "content-type": "text/event-stream" } });
    },
  );
  const url = `http://127.0.0.1:${server.addr.port}`;
  const shutdown = new AbortController();
  const pooled = createUpstreamClient({ fallback: unused, shutdown: shutdown.signal });
  for (let i = 0; i < 3; i++) {
    const res = await pooled(`${url}/v1`, { method: "POST", body: "{}" });
    assertEquals(await res.text(), "data: {}\n\n");
  }
  assertEquals(ports.length, 3);
  assertEquals(new Set(ports).size, 1, "one connection for all three");
  shutdown.abort();
  await server.shutdown(); // returns only once our side closed the idle connection
});

Deno.test("a kept-alive connection the server closes before answering is retried on a fresh one", async () => {
  let connections = 0;
  const server = rawServer(async (conn) => {
    const first = ++connections === 1;
    await write(conn, "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
    // The first connection takes the next request and closes without a byte of answer (its
    // keep-alive timeout racing the request); the retry gets a fresh one.
    if (first) server.seen.push(await readRequest(conn));
  });
  const shutdown = new AbortController();
  const pooled = createUpstreamClient({ fallback: unused, shutdown: shutdown.signal });
  const call = (body: string) => pooled(`${server.url}/v1`, { method: "POST", body });
  assertEquals(await (await call("first")).text(), "ok");
  assertEquals(await (await call("second")).text(), "ok");
  assertEquals(connections, 2);
  // "second" reached the closing connection, then the fresh one, byte-identical.
  assertEquals(server.seen.map((s) => decoder.decode(s.body)), ["first", "second", "second"]);
  shutdown.abort();
  await server.close();
});

Deno.test("a body cancelled early or answered with connection: close is not kept", async () => {
  let connections = 0;
  const server = rawServer(async (conn, seen) => {
    connections++;
    if (decoder.decode(seen.body) === "close") {
      await write(conn, "HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 2\r\n\r\nok");
      return;
    }
    await write(conn, "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nok\r\n");
    await conn.read(new Uint8Array(16)).catch(() => null); // until the client goes
  });
  const shutdown = new AbortController();
  const pooled = createUpstreamClient({ fallback: unused, shutdown: shutdown.signal });
  const call = (body: string) => pooled(`${server.url}/v1`, { method: "POST", body });
  const res = await call("cancel");
  const reader = res.body!.getReader();
  await reader.read();
  await reader.cancel();
  assertEquals(await (await call("close")).text(), "ok");
  assertEquals(await (await call("close")).text(), "ok");
  assertEquals(connections, 3);
  shutdown.abort();
  await server.close();
});

Deno.test("a host name whose first address refuses goes to fetch, which tries every address", async () => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  const calls: string[] = [];
  const fallback: typeof fetch = (input) => {
    calls.push(String(input));
    return Promise.resolve(new Response("from fetch"));
  };
  const c = createUpstreamClient({ fallback });
  const res = await c(`http://localhost:${port}/v1`, { method: "POST", body: "{}" });
  assertEquals(await res.text(), "from fetch");
  assertEquals(calls, [`http://localhost:${port}/v1`]);
  // An address literal has no other address: the refusal is the answer.
  await assertRejects(() => c(`http://127.0.0.1:${port}/v1`, { method: "POST", body: "{}" }));
  assertEquals(calls.length, 1);
});

Deno.test("a head that arrives slowly, in pieces split anywhere, is waited for and parsed", async () => {
  const head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nx-long: " +
    "v".repeat(20_000) +
    "\r\ntransfer-encoding: chunked\r\n\r\n6\r\ndata\n\n\r\n0\r\n\r\n";
  const server = rawServer(async (conn) => {
    for (let i = 0; i < head.length; i += 4999) {
      await write(conn, head.slice(i, i + 4999));
      await sleep(20);
    }
  });
  const res = await post(server.url);
  assertEquals(res.headers.get("x-long")?.length, 20_000);
  assertEquals(res.headers.get("content-type"), "text/event-stream");
  assertEquals(await res.text(), "data\n\n");
  await server.close();
});

Deno.test("a redirect is left to fetch, which follows it as it always did", async () => {
  const server = rawServer(async (conn) => {
    await write(
      conn,
      "HTTP/1.1 308 Permanent Redirect\r\nlocation: /v2\r\ncontent-length: 0\r\n\r\n",
    );
  });
  const calls: string[] = [];
  const fallback: typeof fetch = (input) => {
    calls.push(String(input));
    return Promise.resolve(new Response("followed"));
  };
  const c = createUpstreamClient({ fallback });
  const res = await c(`${server.url}/v1`, { method: "POST", body: "{}" });
  assertEquals(await res.text(), "followed");
  assertEquals(calls, [`${server.url}/v1`]);
  await server.close();
});

Deno.test("a string body is encoded with the head: the same bytes as an encoded body, its byte length declared", () => {
  const headers = Object.freeze({ "content-type": "application/json" });
  for (const text of ['{"a":"plain"}', '{"a":"héllo ✓ \u{1F600}"}', ""]) {
    const bytes = new TextEncoder().encode(text);
    const fromString = requestBytes("/v1/x", "h:1", headers, text, { keepAlive: true });
    const fromBytes = requestBytes("/v1/x", "h:1", headers, bytes, { keepAlive: true });
    assertEquals(fromString, fromBytes);
    const head = new TextDecoder().decode(fromString);
    assertStringIncludes(head, `content-length: ${bytes.length}\r\n\r\n`);
  }
});
