/**
 * What a hostile or broken LLM server can send, and what the app does with it: bodies are capped
 * while reading (a 300 MB error body once killed the process), one stream event is capped, error
 * events in /v1 streams are redacted, and a /v1 stream that just stops is closed with an error.
 *
 * The upstream here is adversarial, not a recording: its bodies are made up (marked per case). The
 * 300 MB bodies are produced on demand by a pull stream, so the test never holds them and can count
 * how much the app actually read before it stopped.
 */
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { serve, testApp } from "../helpers.ts";
import { MAX_ANSWER_BYTES, MAX_EVENT_BYTES, MAX_SMALL_BYTES } from "../../lib/providers/http.ts";
import type { RunRecord } from "../../lib/research/schema.ts";

const MB = 1024 * 1024;
const HUGE = 300 * MB;
const KEY = "sk-upstream-limits-7f3a9c2e51";
const CHUNK = new Uint8Array(64 * 1024).fill(0x78); // "xxxx…"
const enc = new TextEncoder();

/** A body of `prefix`, then `total` bytes of "x", then `suffix`, generated as it is read. */
function generated(prefix: string, total: number, suffix: string, count: { bytes: number }) {
  let sent = 0;
  let stage = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (stage === 0) {
        controller.enqueue(enc.encode(prefix));
        stage = 1;
        return;
      }
      if (stage === 1 && sent < total) {
        const n = Math.min(CHUNK.length, total - sent);
        sent += n;
        count.bytes += n;
        controller.enqueue(n === CHUNK.length ? CHUNK.slice() : CHUNK.slice(0, n));
        return;
      }
      controller.enqueue(enc.encode(suffix));
      controller.close();
    },
  }, { highWaterMark: 0 });
}

type Handler = (req: Request, count: { bytes: number }) => Response | Promise<Response>;

/** A hostile upstream (answers `/v1/...`) and deepstudio pointed at it as openai_endpoint. */
async function rig(handler: Handler) {
  const count = { bytes: 0 };
  const seen: Request[] = [];
  const upstream = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (req) => {
      seen.push(req);
      return handler(req, count);
    },
  );
  const upUrl = `http://127.0.0.1:${upstream.addr.port}`;
  const t = await testApp({
    env: {
      LDR_LLM_PROVIDER: "openai_endpoint",
      LDR_LLM_OPENAI_ENDPOINT_URL: upUrl,
      LDR_LLM_OPENAI_ENDPOINT_API_KEY: KEY,
      LDR_LLM_MODEL: "m",
    },
  });
  const s = serve(t.app);
  return {
    url: s.url,
    count,
    seen,
    chat: (body: Record<string, unknown>) =>
      fetch(`${s.url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "m", messages: [{ role: "user", content: "hi" }], ...body }),
      }),
    async health() {
      const res = await fetch(`${s.url}/api/health`);
      return { status: res.status, body: await res.json() };
    },
    async run(query: string): Promise<RunRecord> {
      const res = await fetch(`${s.url}/api/research`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ query, mode: "quick", provider: "openai_endpoint", model: "m" }),
      });
      const started = await res.json();
      assertEquals(res.status, 202, JSON.stringify(started));
      for (;;) {
        const r = await fetch(`${s.url}/api/research/${started.id}`);
        const run = (await r.json()).run as RunRecord;
        if (!["queued", "running"].includes(run.status)) return run;
        await new Promise((ok) => setTimeout(ok, 20));
      }
    },
    async close() {
      await s.close();
      t.close();
      await upstream.shutdown();
    },
  };
}

const isChat = (req: Request) => new URL(req.url).pathname.endsWith("/chat/completions");
const notFound = () => new Response("not here", { status: 404 });

/** Made up: an OpenAI-shaped error whose message is 300 MB long. */
function hugeError(count: { bytes: number }, status = 500) {
  return new Response(generated('{"error":{"message":"', HUGE, '"}}', count), {
    status,
    headers: { "content-type": "application/json" },
  });
}

function assertReadLittle(count: { bytes: number }, cap: number) {
  // The app stops reading at the cap; what the socket buffers beyond it is a few MB at most.
  assert(count.bytes < cap + 16 * MB, `the app read ${Math.round(count.bytes / MB)} MB`);
}

Deno.test("/v1: a 300 MB error body is a typed 'more than N MB' error and the app keeps serving", async () => {
  const r = await rig((req, count) => isChat(req) ? hugeError(count) : notFound());
  try {
    const res = await r.chat({});
    const body = await res.json();
    assert(res.status >= 500, `status ${res.status}`);
    assertStringIncludes(body.error.message, `more than ${MAX_SMALL_BYTES / MB} MB`);
    assertEquals(body.error.type, "server_error");
    assertReadLittle(r.count, MAX_SMALL_BYTES);
    assertEquals((await r.health()).status, 200);
  } finally {
    await r.close();
  }
});

Deno.test("/v1: a 400 with a 300 MB body is a bad_request, not a crash", async () => {
  const r = await rig((req, count) => isChat(req) ? hugeError(count, 400) : notFound());
  try {
    const res = await r.chat({});
    const body = await res.json();
    assertEquals(res.status, 400);
    assertStringIncludes(body.error.message, "more than");
    assertReadLittle(r.count, MAX_SMALL_BYTES);
  } finally {
    await r.close();
  }
});

Deno.test("/v1: a 300 MB non-streamed answer stops at the answer cap", async () => {
  // Made up: a 200 "completion" that never ends.
  const r = await rig((req, count) =>
    isChat(req)
      ? new Response(generated('{"choices":[{"message":{"content":"', HUGE, '"}}]}', count), {
        headers: { "content-type": "application/json" },
      })
      : notFound()
  );
  try {
    const res = await r.chat({});
    const body = await res.json();
    assert(res.status >= 500);
    assertStringIncludes(body.error.message, `more than ${MAX_ANSWER_BYTES / MB} MB`);
    assertReadLittle(r.count, MAX_ANSWER_BYTES);
    assertEquals((await r.health()).status, 200);
  } finally {
    await r.close();
  }
});

Deno.test("/v1: one 300 MB stream event ends the stream with an error event", async () => {
  // Made up: a first real-looking chunk, then one event that never ends.
  const first = 'data: {"choices":[{"index":0,"delta":{"content":"Hi"}}]}\n\n';
  const r = await rig((req, count) =>
    isChat(req)
      ? new Response(
        generated(`${first}data: {"choices":[{"delta":{"content":"`, HUGE, "", count),
        {
          headers: { "content-type": "text/event-stream" },
        },
      )
      : notFound()
  );
  try {
    const res = await r.chat({ stream: true });
    assertEquals(res.status, 200);
    const text = await res.text();
    assert(text.startsWith(first), "what came before is relayed as it was");
    assert(text.length < MAX_EVENT_BYTES + 64 * 1024, `relayed ${text.length} bytes`);
    assertStringIncludes(text, "in one stream event");
    assertReadLittle(r.count, MAX_EVENT_BYTES);
    assertEquals((await r.health()).status, 200);
  } finally {
    await r.close();
  }
});

Deno.test("a model list of 300 MB is a typed 502, not a crash", async () => {
  // Made up: a model list that never ends.
  const r = await rig((req, count) =>
    new URL(req.url).pathname.endsWith("/models")
      ? new Response(generated('{"data":[{"id":"', HUGE, '"}]}', count), {
        headers: { "content-type": "application/json" },
      })
      : notFound()
  );
  try {
    const res = await fetch(`${r.url}/api/providers/openai_endpoint/models?fresh=1`);
    const body = await res.json();
    assertEquals(res.status, 502);
    assertStringIncludes(body.error.message, `more than ${MAX_SMALL_BYTES / MB} MB`);
    assertReadLittle(r.count, MAX_SMALL_BYTES);
  } finally {
    await r.close();
  }
});

Deno.test("a research run against a 300 MB error body fails with the typed error; the app serves on", async () => {
  const r = await rig((req, count) => isChat(req) ? hugeError(count) : notFound());
  try {
    const run = await r.run("big error");
    assertEquals(run.status, "failed");
    assertEquals(run.error?.kind, "server_error");
    assertStringIncludes(run.error?.message ?? "", `more than ${MAX_SMALL_BYTES / MB} MB`);
    assertReadLittle(r.count, MAX_SMALL_BYTES);
    assertEquals((await r.health()).status, 200);
  } finally {
    await r.close();
  }
});

Deno.test("a research run against one 300 MB stream event fails with the typed error", async () => {
  const r = await rig((req, count) =>
    isChat(req)
      ? new Response(generated('data: {"choices":[{"delta":{"content":"', HUGE, "", count), {
        headers: { "content-type": "text/event-stream" },
      })
      : notFound()
  );
  try {
    const run = await r.run("big event");
    assertEquals(run.status, "failed");
    assertStringIncludes(run.error?.message ?? "", "in one stream event");
    assertReadLittle(r.count, MAX_EVENT_BYTES);
  } finally {
    await r.close();
  }
});

/** A /v1 stream whose upstream sends `frames` verbatim and ends. */
function streaming(frames: string) {
  return rig((req) =>
    isChat(req)
      ? new Response(frames, { headers: { "content-type": "text/event-stream" } })
      : notFound()
  );
}

Deno.test("/v1: a mid-stream error event is relayed with the key and bearer tokens redacted", async () => {
  // Made up, in the shape llama.cpp and LM Studio use for errors inside a stream
  // (tests/fixtures/transcripts): a server echoing the request's Authorization header.
  const delta = `data: {"choices":[{"index":0,"delta":{"content":"my key is ${"k"}"}}]}\n\n`;
  const error =
    `data: {"error":{"message":"Rejected header Authorization: Bearer ${KEY} (key ${KEY})",` +
    `"type":"server_error","code":500}}\n\n`;
  const r = await streaming(delta + error);
  try {
    const res = await r.chat({ stream: true });
    const text = await res.text();
    assert(text.startsWith(delta), "content before the error keeps its exact bytes");
    assert(!text.includes(KEY), `the key leaked:\n${text}`);
    assertStringIncludes(
      text,
      'data: {"error":{"message":"Rejected header Authorization: Bearer ***',
    );
    assert(!text.includes("cut or malformed"), "an error event is a proper end");
  } finally {
    await r.close();
  }
});

Deno.test("/v1: content deltas that mention a bearer token stay byte-identical", async () => {
  const frames =
    'data: {"choices":[{"index":0,"delta":{"content":"Bearer abcdef sk-1234567890"}}]}\n\n' +
    "data: [DONE]\n\n";
  const r = await streaming(frames);
  try {
    assertEquals(await (await r.chat({ stream: true })).text(), frames);
  } finally {
    await r.close();
  }
});

Deno.test("/v1: a malformed stream that just ends gets an OpenAI-shaped error event", async () => {
  const good = 'data: {"choices":[{"index":0,"delta":{"content":"Hel"}}]}\n\n';
  const r = await streaming(`${good}data: {not json`);
  try {
    const res = await r.chat({ stream: true });
    const text = await res.text();
    assert(text.startsWith(`${good}data: {not json`), "what arrived is relayed first");
    const last = text.trimEnd().split("\n\n").pop()!;
    assert(last.startsWith("data: "), last);
    const event = JSON.parse(last.slice(6));
    assertEquals(event.error.type, "server_error");
    assertStringIncludes(event.error.message, "the server's stream was cut or malformed");
    assert(!text.includes("[DONE]"));
  } finally {
    await r.close();
  }
});

Deno.test("/v1: a stream cut cleanly between events (no [DONE]) also ends with the error event", async () => {
  const good = 'data: {"choices":[{"index":0,"delta":{"content":"Hel"}}]}\n\n';
  const r = await streaming(good);
  try {
    const text = await (await r.chat({ stream: true })).text();
    assert(text.startsWith(good));
    assertStringIncludes(text.slice(good.length), "cut or malformed");
  } finally {
    await r.close();
  }
});
