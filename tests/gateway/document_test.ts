/**
 * Non-streamed /v1 answers over the raw HTTP/1.1 client (lib/providers/http1_client.ts), as
 * production sends them: a raw upstream on 127.0.0.1 answers the model list and writes the
 * chat document by hand (Content-Length, cut, over the cap, held back), and deepstudio's answer
 * is what relayDocument promises: the same bytes, or an OpenAI error, and a client that leaves
 * while the document is pending closes the upstream connection.
 */
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { rawServer, write } from "../providers/raw_server.ts";
import { HELLO, startRig } from "./setup.ts";

const MODELS = JSON.stringify({ object: "list", data: [{ id: "m", object: "model" }] });

/** A raw upstream: the model list, then `chat` writes the chat answer on its connection. */
function upstream(chat: (conn: Deno.Conn, head: string) => Promise<void>) {
  return rawServer(async (conn, seen) => {
    if (seen.head.startsWith("GET")) {
      await write(
        conn,
        `HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: ${MODELS.length}\r\n\r\n${MODELS}`,
      );
      return;
    }
    await chat(conn, seen.head);
  });
}

async function withRig<T>(
  server: { url: string },
  fn: (rig: Awaited<ReturnType<typeof startRig>>) => Promise<T>,
): Promise<T> {
  const rig = await startRig({
    env: { LDR_LLM_PROVIDER: "openai_endpoint", LDR_LLM_OPENAI_ENDPOINT_URL: server.url },
  });
  try {
    return await fn(rig);
  } finally {
    await rig.close();
  }
}

const ask = (rig: Awaited<ReturnType<typeof startRig>>, init?: RequestInit) =>
  rig.post("/v1/chat/completions", { model: "m", messages: HELLO }, init);

Deno.test("a Content-Length document goes over the raw client and is relayed as the same bytes", async () => {
  const doc = JSON.stringify({
    id: "c1",
    object: "chat.completion",
    choices: [{ index: 0, message: { role: "assistant", content: "hé ".repeat(20_000) } }],
  });
  const bytes = new TextEncoder().encode(doc);
  const heads: string[] = [];
  const server = upstream(async (conn, head) => {
    heads.push(head);
    await write(conn, `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n`);
    await write(conn, `content-length: ${bytes.length}\r\n\r\n${doc.slice(0, 1000)}`);
    await new Promise((r) => setTimeout(r, 10));
    await write(conn, doc.slice(1000));
  });
  await withRig(server, async (rig) => {
    const res = await ask(rig);
    assertEquals(res.status, 200);
    assertEquals(res.headers.get("content-type"), "application/json");
    assertEquals(new Uint8Array(await res.arrayBuffer()), bytes);
  });
  await server.close();
  assertEquals(heads.length, 1);
  // The raw client's request head (fetch would add user-agent and accept-encoding).
  assert(!/user-agent|accept-encoding/i.test(heads[0]), heads[0]);
  assertStringIncludes(heads[0], "accept: application/json");
});

Deno.test("a document declared over the answer cap becomes 502 'sent more than 32 MB'", async () => {
  const server = upstream(async (conn) => {
    await write(conn, "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n");
    await write(conn, 'content-length: 40000000\r\n\r\n{"choices":[');
    await conn.read(new Uint8Array(64)).catch(() => null); // until deepstudio closes
  });
  await withRig(server, async (rig) => {
    const res = await ask(rig);
    assertEquals(res.status, 502);
    const { error } = await res.json();
    assertStringIncludes(error.message, "sent more than 32 MB");
  });
  await server.close();
});

Deno.test("a connection closed mid-document becomes 502 naming the cut, not broken JSON", async () => {
  const server = upstream(async (conn) => {
    await write(conn, "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n");
    await write(conn, 'content-length: 500\r\n\r\n{"choices":[{"index":0,');
  }); // the server closes 470 bytes short
  await withRig(server, async (rig) => {
    const res = await ask(rig);
    assertEquals(res.status, 502);
    const { error } = await res.json();
    assertEquals(error.type, "server_error");
    assertStringIncludes(error.message, "closed mid-response");
  });
  await server.close();
});

Deno.test("a client gone while the document is pending (headers sent) closes the upstream connection", async () => {
  let arrived: () => void;
  const headSent = new Promise<void>((r) => arrived = r);
  let closedAfter = NaN;
  let abortedAt = 0;
  const server = upstream(async (conn) => {
    await write(conn, "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n");
    await write(conn, 'content-length: 500\r\n\r\n{"choices":[');
    arrived();
    const n = await conn.read(new Uint8Array(64)).catch(() => null);
    if (n === null) closedAfter = performance.now() - abortedAt;
  });
  await withRig(server, async (rig) => {
    const ac = new AbortController();
    const res = ask(rig, { signal: ac.signal });
    res.catch(() => {});
    await headSent;
    await new Promise((r) => setTimeout(r, 20));
    abortedAt = performance.now();
    ac.abort();
    await server.close(); // returns once the upstream connection's script ended
  });
  assert(closedAfter < 2000, `the upstream saw the close (${closedAfter} ms)`);
});
