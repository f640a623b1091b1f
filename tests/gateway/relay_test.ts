/**
 * Frame-level relay: what upstream sends is what the client gets, chunk for chunk and byte for
 * byte. A scripted upstream sends each chunk only after the client has received the previous one
 * (lockstep), so a gateway that buffered or coalesced would deadlock instead of passing by luck.
 */
import { assertEquals, assertMatch } from "../assert.ts";
import { CSP } from "../../lib/http/security.ts";
import { serve, testApp } from "../helpers.ts";
import { events, HELLO, joinBytes, readChunks, startRig } from "./setup.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

// Odd but valid SSE: spacing, escapes and key order that any re-encoding would change, an event
// split across two chunks, two events in one chunk, a comment, the usage chunk and [DONE].
const ROLE = 'data: {"id":"c1" , "choices":[{"index":0,"delta":{"role":"assistant"}}]}\n\n';
const CAFE =
  'data: {"choices":[{"delta":{"content":"caf\\u00e9 \\"usage\\""},"index":0}],"id":"c1"}\n\n';
const SPLIT = 'data: {"choices":[{"delta":{"content":" split"},"index":0}],"id":"c1"}\n\n';
const TWO = 'data: {"choices":[{"delta":{"content":" a"},"index":0}]}\n\n' +
  'data: {"choices":[{"delta":{},"finish_reason":"stop","index":0}]}\n\n';
const COMMENT = ": keep-alive\n\n";
const USAGE =
  'data: {"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7}}\n\n';
const DONE = "data: [DONE]\n\n";
const CHUNKS = [ROLE, CAFE, SPLIT.slice(0, 30), SPLIT.slice(30), TWO, COMMENT, USAGE, DONE];

/** An OpenAI-compatible upstream that sends CHUNKS in lockstep with the test's reads. */
function lockstepUpstream(stripped: boolean) {
  let next: (() => void) | null = null;
  const sent: Uint8Array[] = [];
  const bodies: Record<string, unknown>[] = [];
  const app = {
    fetch: async (req: Request): Promise<Response> => {
      const path = new URL(req.url).pathname;
      if (path === "/v1/models") {
        return Response.json({ object: "list", data: [{ id: "m", object: "model" }] });
      }
      bodies.push(await req.json());
      let i = 0;
      const body = new ReadableStream<Uint8Array>({
        async pull(c) {
          if (i === CHUNKS.length) return c.close();
          const chunk = enc.encode(CHUNKS[i]);
          sent.push(chunk);
          c.enqueue(chunk);
          // When stripping, the usage chunk never reaches the client and half an event is held
          // until its end arrives: do not wait for a read that cannot come.
          const skip = stripped && (CHUNKS[i] === USAGE || CHUNKS[i] === CHUNKS[2]);
          i++;
          if (!skip && i < CHUNKS.length) await new Promise<void>((r) => next = r);
        },
      }, { highWaterMark: 0 });
      return new Response(body, { headers: { "content-type": "text/event-stream" } });
    },
  };
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, app.fetch);
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    sent,
    bodies,
    release: () => {
      const n = next;
      next = null;
      n?.();
    },
    close: () => server.shutdown(),
  };
}

async function throughGateway(streamOptions?: Record<string, unknown>) {
  const up = lockstepUpstream(streamOptions === undefined);
  const t = await testApp({
    env: { LDR_LLM_PROVIDER: "openai_endpoint", LDR_LLM_OPENAI_ENDPOINT_URL: up.url },
  });
  const s = serve(t.app);
  try {
    const res = await fetch(`${s.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: "m",
        messages: HELLO,
        stream: true,
        ...(streamOptions ? { stream_options: streamOptions } : {}),
      }),
    });
    const received: Uint8Array[] = [];
    const reader = res.body!.getReader();
    for (;;) {
      // A gateway that held a chunk back would leave the upstream waiting forever: fail instead.
      let timer: ReturnType<typeof setTimeout> | undefined;
      const stuck = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`chunk ${received.length + 1} was held back by the gateway`)),
          5000,
        );
      });
      const { done, value } = await Promise.race([reader.read(), stuck]).finally(() =>
        clearTimeout(timer)
      );
      if (done) break;
      received.push(value);
      up.release();
    }
    return { received, sent: up.sent, upstreamBody: up.bodies[0] };
  } finally {
    await s.close();
    t.close();
    await up.close();
  }
}

Deno.test("with usage asked for, every upstream chunk is relayed alone and byte-identical", async () => {
  const { received, sent } = await throughGateway({ include_usage: true });
  assertEquals(received.map((c) => dec.decode(c)), CHUNKS);
  assertEquals(joinBytes(received), joinBytes(sent));
});

Deno.test("with usage added by deepstudio, only the usage chunk is missing; the rest is identical", async () => {
  const { received, upstreamBody } = await throughGateway();
  assertEquals(upstreamBody.stream_options, { include_usage: true });
  // The split event is held until complete (half an event is nothing an SSE client can use).
  assertEquals(received.map((c) => dec.decode(c)), [
    ROLE,
    CAFE,
    SPLIT,
    TWO,
    COMMENT,
    DONE,
  ]);
});

Deno.test("the fake LM Studio's frames arrive 1:1, identical to a direct call but for id and time", async () => {
  const rig = await startRig({ fake: { tokenDelayMs: 5 } });
  try {
    const body = {
      model: "qwen2.5-7b-instruct",
      messages: HELLO,
      stream: true,
      stream_options: { include_usage: true },
      max_tokens: 100,
    };
    const direct = await fetch(`${rig.lm.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    const viaGateway = await rig.post("/v1/chat/completions", body);
    const normalise = (s: string) =>
      s.replace(/chatcmpl-[A-Za-z0-9]+/g, "ID").replace(/"created":\d+/g, '"created":0');
    const directText = dec.decode(joinBytes(await readChunks(direct)));
    const gatewayChunks = await readChunks(viaGateway);
    const gatewayText = dec.decode(joinBytes(gatewayChunks));
    assertEquals(normalise(gatewayText), normalise(directText));
    assertEquals(events(gatewayText).length, 9, "6 tokens, finish, usage, [DONE]");
    // What the fake received matches what the client sent, plus nothing.
    assertEquals(rig.lm.chatRequests().at(-1)!.body, body);
  } finally {
    await rig.close();
  }
});

Deno.test("a relayed stream's head: the upstream's status and type, secure headers, timing", async () => {
  // The 200 answer's Response is built while the upstream works (lib/gateway/relay.ts); any
  // other status gets one built after: both must say the same things.
  for (const status of [200, 203]) {
    const upstream = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
      if (new URL(req.url).pathname === "/v1/models") {
        return Response.json({ object: "list", data: [{ id: "m", object: "model" }] });
      }
      return new Response(ROLE + DONE, {
        status,
        headers: { "content-type": "text/event-stream; charset=utf-8" },
      });
    });
    const t = await testApp({
      env: {
        LDR_LLM_PROVIDER: "openai_endpoint",
        LDR_LLM_OPENAI_ENDPOINT_URL: `http://127.0.0.1:${upstream.addr.port}`,
      },
    });
    const s = serve(t.app);
    try {
      const res = await fetch(`${s.url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "m", messages: HELLO, stream: true }),
      });
      assertEquals(res.status, status);
      assertEquals(res.headers.get("content-type"), "text/event-stream; charset=utf-8");
      assertEquals(res.headers.get("x-accel-buffering"), "no");
      assertEquals(res.headers.get("cache-control"), "no-store");
      assertEquals(res.headers.get("content-security-policy"), CSP);
      assertEquals(res.headers.get("x-frame-options"), "DENY");
      assertMatch(res.headers.get("server-timing") ?? "", /^ds;dur=[\d.]+;desc="deepstudio"/);
      assertEquals(dec.decode(joinBytes(await readChunks(res))), ROLE + DONE);
    } finally {
      await s.close();
      t.close();
      await upstream.shutdown();
    }
  }
});
