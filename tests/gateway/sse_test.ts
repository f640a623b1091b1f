import { assert, assertEquals } from "../assert.ts";
import {
  createUsageStripper,
  indexOfBytes,
  isUsageOnlyEvent,
  lastEventEnd,
} from "../../lib/gateway/sse.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

// Frames in llama.cpp's recorded shape (03-chat-stream.txt), usage chunk included.
const ROLE =
  'data: {"choices":[{"finish_reason":null,"index":0,"delta":{"role":"assistant","content":null}}],"created":1795567330,"id":"chatcmpl-p","model":"tiny-random","object":"chat.completion.chunk"}\n\n';
const TOKEN =
  'data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":" habe"}}],"created":1795567330,"id":"chatcmpl-p","model":"tiny-random","object":"chat.completion.chunk"}\n\n';
const TRICKY =
  'data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":"say \\"usage\\": {} and \\u00e9"}}],"created":1,"id":"x","object":"chat.completion.chunk"}\n\n';
const FINISH =
  'data: {"choices":[{"finish_reason":"length","index":0,"delta":{}}],"created":1795567330,"id":"chatcmpl-p","model":"tiny-random","object":"chat.completion.chunk"}\n\n';
const USAGE =
  'data: {"choices":[],"created":1795567330,"id":"chatcmpl-p","model":"tiny-random","object":"chat.completion.chunk","usage":{"completion_tokens":3,"prompt_tokens":7,"total_tokens":10}}\n\n';
const DONE = "data: [DONE]\n\n";
const STREAM = ROLE + TOKEN + TRICKY + FINISH + USAGE + DONE;
const EXPECTED = ROLE + TOKEN + TRICKY + FINISH + DONE;

function run(
  chunks: string[] | Uint8Array[],
): { out: string; pieces: Uint8Array[]; stripped: number } {
  const s = createUsageStripper();
  const pieces: Uint8Array[] = [];
  for (const c of chunks) {
    const out = s.push(typeof c === "string" ? enc.encode(c) : c);
    if (out) pieces.push(out);
  }
  const rest = s.flush();
  if (rest) pieces.push(rest);
  return { out: pieces.map((p) => dec.decode(p)).join(""), pieces, stripped: s.stripped };
}

Deno.test("the usage-only chunk is removed and every other byte is kept, one event per chunk", () => {
  const r = run([ROLE, TOKEN, TRICKY, FINISH, USAGE, DONE]);
  assertEquals(r.out, EXPECTED);
  assertEquals(r.stripped, 1);
  assertEquals(r.pieces.map((p) => dec.decode(p)), [ROLE, TOKEN, TRICKY, FINISH, DONE]);
});

Deno.test("untouched chunks are handed on as the very same bytes (no copy, no re-encoding)", () => {
  const s = createUsageStripper();
  const chunk = enc.encode(TOKEN);
  assert(s.push(chunk) === chunk, "a chunk without a usage event must pass through as is");
});

Deno.test("stripping gives the same bytes however the stream is cut into chunks", () => {
  const bytes = enc.encode(STREAM);
  for (const size of [1, 2, 3, 7, 64, 333, bytes.length]) {
    const chunks: Uint8Array[] = [];
    for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.slice(i, i + size));
    const r = run(chunks);
    assertEquals(r.out, EXPECTED, `chunk size ${size}`);
    assertEquals(r.stripped, 1, `chunk size ${size}`);
  }
});

Deno.test("a usage event in the middle of a chunk is cut out of that chunk only", () => {
  const r = run([ROLE + TOKEN, FINISH + USAGE + DONE]);
  assertEquals(r.pieces.map((p) => dec.decode(p)), [ROLE + TOKEN, FINISH + DONE]);
});

Deno.test("CRLF-delimited events are recognised too", () => {
  const crlf = (s: string) => s.replace(/\n\n$/, "\r\n\r\n");
  const r = run([crlf(TOKEN), crlf(USAGE), crlf(DONE)]);
  assertEquals(r.out, crlf(TOKEN) + crlf(DONE));
});

Deno.test("chunks that only carry usage: null (OpenAI with include_usage) are not stripped", () => {
  const withNull = TOKEN.replace('"object"', '"usage":null,"object"');
  const r = run([withNull, DONE]);
  assertEquals(r.out, withNull + DONE);
  assertEquals(r.stripped, 0);
});

Deno.test("a usage key next to real choices is not a usage-only chunk", () => {
  const both = TOKEN.replace('"object"', '"usage":{"total_tokens":1},"object"');
  assertEquals(run([both]).out, both);
  assert(!isUsageOnlyEvent(enc.encode(both)));
  assert(isUsageOnlyEvent(enc.encode(USAGE)));
});

Deno.test("an error event (no [DONE]) and a stream cut mid-event pass through", () => {
  const error = 'data: {"error":{"message":"Model crashed","type":"server_error"}}\n\n';
  assertEquals(run([TOKEN, error]).out, TOKEN + error);
  const cut = TOKEN.slice(0, 40);
  assertEquals(run([ROLE, cut]).out, ROLE + cut);
});

Deno.test("byte helpers find events and sequences", () => {
  const b = enc.encode("data: a\n\ndata: b\n");
  assertEquals(lastEventEnd(b), 9);
  assertEquals(lastEventEnd(enc.encode("data: a\n")), 0);
  assertEquals(indexOfBytes(enc.encode('xx"usage"'), enc.encode('"usage"')), 2);
  assertEquals(indexOfBytes(enc.encode('"usag'), enc.encode('"usage"')), -1);
});
