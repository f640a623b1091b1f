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

/** The events of one section of a recording (`### title` up to the next section). */
function recordedEvents(file: string, title: string): string[] {
  const text = Deno.readTextFileSync(
    new URL(`../fixtures/transcripts/llamacpp/${file}`, import.meta.url),
  );
  const section = text.split(/^### /m).find((s) => s.startsWith(title));
  if (!section) throw new Error(`no section "${title}" in ${file}`);
  return section.split("\n").filter((l) => l.startsWith("data: ")).map((l) => `${l}\n\n`);
}

Deno.test("llama.cpp's timings go back onto the finish chunk when deepstudio injected include_usage (recorded bytes)", () => {
  const withUsage = recordedEvents(
    "03-chat-stream.txt",
    "streaming with stream_options.include_usage",
  );
  const without = recordedEvents("03-chat-stream.txt", "streaming, max_tokens 5");
  const usage = JSON.parse(withUsage.at(-2)!.slice(6));
  assert(usage.timings && usage.usage && usage.choices.length === 0, "the recording's usage chunk");
  const s = createUsageStripper({ restoreFinishFields: true });
  const out = [...withUsage.map((f) => s.push(enc.encode(f))), s.flush()]
    .filter((p): p is Uint8Array => p !== null).map((p) => dec.decode(p)).join("");
  const frames = out.split("\n\n").filter(Boolean).map((f) => `${f}\n\n`);
  // Every frame but the finish chunk is byte-identical; the usage chunk is gone.
  assertEquals(frames.length, withUsage.length - 1);
  assertEquals(frames.slice(0, -2), withUsage.slice(0, -3));
  assertEquals(frames.at(-1), DONE);
  const finish = frames.at(-2)!;
  // The finish chunk is the recorded one with llama.cpp's timings appended, exactly where the
  // recording without include_usage has them (last key, same bytes before it).
  assertEquals(
    finish,
    withUsage.at(-3)!.replace(/}\n\n$/, `,"timings":${JSON.stringify(usage.timings)}}\n\n`),
  );
  const keys = (f: string) => Object.keys(JSON.parse(f.slice(6)));
  assertEquals(keys(finish), keys(without.at(-2)!));
  assertEquals(JSON.parse(finish.slice(6)).timings, usage.timings);
});

Deno.test("a usage chunk with nothing but usage is dropped whole; other extra fields stay without usage", () => {
  const r = run([FINISH, USAGE, DONE]);
  assertEquals(r.out, FINISH + DONE);
  const extra = USAGE.replace('"object"', '"x_stats":{"a":1},"object"');
  const s = createUsageStripper();
  const out = [s.push(enc.encode(FINISH + extra + DONE)), s.flush()].filter((p) => p !== null)
    .map((p) => dec.decode(p!)).join("");
  const kept = out.split("\n\n").filter(Boolean).map((f) => f.slice(6));
  assertEquals(kept.length, 3);
  assertEquals(JSON.parse(kept[1]).x_stats, { a: 1 });
  assertEquals(JSON.parse(kept[1]).usage, undefined);
});
