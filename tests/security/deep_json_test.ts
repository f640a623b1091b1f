/**
 * A 6 MB body nested 3 million levels deep is cheap to send; serialising it again (forwarding it
 * upstream, echoing it in an error) blocks the event loop for seconds. The app must refuse it while
 * reading, with a short error, and stay responsive meanwhile.
 */
import { assert, assertEquals } from "../assert.ts";
import { serve, testApp } from "../helpers.ts";
import {
  DepthScanner,
  jsonTooDeep,
  MAX_ECHO_CHARS,
  MAX_JSON_DEPTH,
  preview,
} from "../../lib/http/json_guard.ts";
import { startFakeLmStudio } from "../fakes/lmstudio.ts";

const LEVELS = 3_000_000;
const deep = (levels: number) => "[".repeat(levels) + "]".repeat(levels);

async function rig() {
  const lm = await startFakeLmStudio();
  const t = await testApp({ env: { LDR_LLM_LMSTUDIO_URL: lm.url } });
  const s = serve(t.app);
  return {
    url: s.url,
    port: s.server.addr.port,
    lm,
    async close() {
      await s.close();
      t.close();
      await lm.close();
    },
  };
}

function post(url: string, body: string): Promise<Response> {
  return fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body });
}

Deno.test("a 3M-deep value in an unknown /v1 field is refused with a short 400, never forwarded", async () => {
  const r = await rig();
  try {
    const body = `{"model":"m","messages":[{"role":"user","content":"hi"}],"x":${deep(LEVELS)}}`;
    const res = await post(`${r.url}/v1/chat/completions`, body);
    const text = await res.text();
    assertEquals(res.status, 400, text.slice(0, 300));
    assert(text.length < 1000, `short error, got ${text.length} bytes`);
    assert(text.includes(`${MAX_JSON_DEPTH} levels`), text);
    assertEquals(r.lm.requests.filter((q) => q.path.includes("chat")).length, 0, "not forwarded");
  } finally {
    await r.close();
  }
});

Deno.test("a 3M-deep max_tokens is not echoed back whole", async () => {
  const r = await rig();
  try {
    const body = `{"model":"m","messages":[],"max_tokens":${deep(LEVELS)}}`;
    const res = await post(`${r.url}/v1/chat/completions`, body);
    const text = await res.text();
    assertEquals(res.status, 400);
    assert(text.length < 1000, `short error, got ${text.length} bytes`);
  } finally {
    await r.close();
  }
});

Deno.test("a 6 MB string in max_tokens is quoted in ~200 characters, not echoed whole", async () => {
  const r = await rig();
  try {
    const body = JSON.stringify({ model: "m", messages: [], max_tokens: "9".repeat(6_000_000) });
    const res = await post(`${r.url}/v1/chat/completions`, body);
    const text = await res.text();
    assertEquals(res.status, 400);
    assert(text.length < 1000, `short error, got ${text.length} bytes`);
    assert(text.includes("max_tokens"), text);
  } finally {
    await r.close();
  }
});

Deno.test("deep bodies are refused on the JSON API routes too, in the API's error shape", async () => {
  const r = await rig();
  try {
    const nested = deep(MAX_JSON_DEPTH + 1);
    for (
      const [method, path, body] of [
        ["PATCH", "/api/settings", `{"llm.temperature":${nested}}`],
        ["POST", "/api/research", `{"query":"q","x":${nested}}`],
        ["POST", "/api/providers/lmstudio/test", `{"url":${nested}}`],
      ]
    ) {
      const res = await fetch(`${r.url}${path}`, {
        method,
        headers: { "content-type": "application/json" },
        body,
      });
      const json = await res.json();
      assertEquals(res.status, 400, path);
      assertEquals(json.error.kind, "bad_request", path);
    }
    // Depth up to the bound is fine.
    const ok = await fetch(`${r.url}/api/settings`, {
      method: "PATCH",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ "llm.temperature": 0.5 }),
    });
    assertEquals(ok.status, 200, await ok.text());
  } finally {
    await r.close();
  }
});

Deno.test("while a 3M-deep body is still arriving it is refused, and /api/health answers meanwhile", async () => {
  const r = await rig();
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: r.port });
  try {
    const head = `{"model":"m","messages":[],"x":`;
    const body = new TextEncoder().encode(`${head}${deep(LEVELS)}}`);
    const request = new TextEncoder().encode(
      `POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:${r.port}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
    );
    // Read the answer concurrently, noting whether it came before the rest of the body was sent.
    let tailSent = false;
    const answered = (async () => {
      const buf = new Uint8Array(4096);
      const n = await conn.read(buf);
      return { beforeTail: !tailSent, text: new TextDecoder().decode(buf.subarray(0, n ?? 0)) };
    })();
    const firstPart = head.length + LEVELS / 3; // a million levels: far past the bound
    await writeAll(conn, request);
    await writeAll(conn, body.subarray(0, firstPart));
    // The deep request is in progress (its body is half sent): the app still answers.
    const health = await fetch(`${r.url}/api/health`);
    assertEquals(health.status, 200);
    assertEquals((await health.json()).status, "ok");
    const refusal = await answeredOrTail(answered, `${r.url}/api/health`, () => {
      tailSent = true;
      return writeAll(conn, body.subarray(firstPart)).catch(() => {});
    });
    assert(refusal.beforeTail, "refused before the whole body arrived");
    assert(/^HTTP\/1\.1 400 /.test(refusal.text), refusal.text.slice(0, 200));
  } finally {
    try {
      conn.close();
    } catch { /* closed by the server */ }
    await r.close();
  }
});

/**
 * Waits for `answered` while the app keeps answering health checks (each one a full round trip
 * through its event loop); only if ten of them pass without an answer does it send the tail, so
 * code that waits for the whole body still ends the test (and fails it).
 */
async function answeredOrTail<T>(
  answered: Promise<T>,
  healthUrl: string,
  sendTail: () => Promise<void>,
): Promise<T> {
  let settled: T | undefined;
  answered.then((v) => settled = v);
  for (let i = 0; i < 10 && settled === undefined; i++) {
    const res = await fetch(healthUrl);
    assertEquals(res.status, 200);
    await res.body?.cancel();
  }
  if (settled !== undefined) return settled;
  await sendTail();
  return await answered;
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array) {
  for (let off = 0; off < bytes.length;) off += await conn.write(bytes.subarray(off));
}

Deno.test("preview cuts a quoted value to ~200 characters and never serialises objects", () => {
  assertEquals(preview(12), "12");
  assertEquals(preview("abc"), '"abc"');
  assert(preview("x".repeat(10_000)).length <= MAX_ECHO_CHARS + 1);
  assertEquals(preview([[[1]]]), "an array");
  assertEquals(preview({ a: 1 }), "an object");
});

Deno.test("the depth scan ignores brackets in strings and keeps its state across chunks", () => {
  assertEquals(jsonTooDeep(deep(MAX_JSON_DEPTH)), false);
  assertEquals(jsonTooDeep(deep(MAX_JSON_DEPTH + 1)), true);
  assertEquals(jsonTooDeep(JSON.stringify({ s: "[".repeat(1000), t: '\\"[[' })), false);
  const scanner = new DepthScanner(2);
  const enc = new TextEncoder();
  assert(scanner.push(enc.encode('{"a":"\\')));
  assert(scanner.push(enc.encode('"[[[[","b":[')), "an escaped quote split across chunks");
  assertEquals(scanner.push(enc.encode("[")), false);
});
