/**
 * The /v1 stream guard (lib/gateway/stream_guard.ts) however the upstream splits its bytes: plain
 * events pass unchanged (the same array when a chunk needs nothing), error events come out
 * redacted, an oversized event throws, and the end is marked only when [DONE] and errors are absent.
 */
import { assert, assertEquals, assertThrows } from "../assert.ts";
import { createStreamGuard } from "../../lib/gateway/stream_guard.ts";
import { BodyTooLargeError } from "../../lib/providers/errors.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const CUT = "data: CUT\n\n";

function guard(maxEvent?: number) {
  return createStreamGuard({
    redact: (t) => t.replaceAll("SECRET", "***"),
    cutEvent: () => enc.encode(CUT),
    maxEvent,
  });
}

/** Runs `text` through a fresh guard in pieces cut at `cuts`. */
function through(text: string, cuts: number[]): string {
  const g = guard();
  const bytes = enc.encode(text);
  let out = "";
  let at = 0;
  for (const c of [...cuts, bytes.length]) {
    const piece = g.push(bytes.subarray(at, c));
    if (piece) out += dec.decode(piece);
    at = c;
  }
  const end = g.end();
  if (end) out += dec.decode(end);
  return out;
}

const DELTA = 'data: {"choices":[{"delta":{"content":"a\\n\\nb"}}]}\n\n';
const ERROR = 'data: {"error":{"message":"Bearer SECRET"}}\n\n';

Deno.test("every split of a stream gives the same output", () => {
  const cases: [string, string][] = [
    [DELTA + "data: [DONE]\n\n", DELTA + "data: [DONE]\n\n"],
    [DELTA + ERROR, DELTA + ERROR.replace("SECRET", "***")],
    [DELTA + "event: error\ndata: SECRET\n\n", DELTA + "event: error\ndata: ***\n\n"],
    [DELTA, DELTA + CUT],
    [DELTA + "data: {not json", DELTA + "data: {not json\n\n" + CUT],
    [
      DELTA.replaceAll("\n", "\r\n") + "data: [DONE]\r\n\r\n",
      DELTA.replaceAll("\n", "\r\n") + "data: [DONE]\r\n\r\n",
    ],
    [": comment\n\n" + DELTA + "data: [DONE]\n\n", ": comment\n\n" + DELTA + "data: [DONE]\n\n"],
  ];
  for (const [input, expected] of cases) {
    const n = enc.encode(input).length;
    assertEquals(through(input, []), expected, "whole");
    for (let i = 1; i < n; i++) assertEquals(through(input, [i]), expected, `split at ${i}`);
    const every = Array.from({ length: n - 1 }, (_, i) => i + 1);
    assertEquals(through(input, every), expected, "byte by byte");
  }
});

Deno.test("a chunk of plain events is handed on as the same array", () => {
  const g = guard();
  const chunk = enc.encode(DELTA + DELTA);
  assert(g.push(chunk) === chunk);
});

Deno.test("an event larger than the cap throws, even when it arrives in small pieces", () => {
  const g = guard(1024);
  g.push(enc.encode(DELTA));
  g.push(enc.encode('data: {"choices":"'));
  const piece = enc.encode("x".repeat(100));
  assertThrows(() => {
    for (let i = 0; i < 20; i++) g.push(piece);
  }, BodyTooLargeError);
  // Many small events add up to far more than the cap without tripping it.
  const h = guard(1024);
  for (let i = 0; i < 100; i++) h.push(enc.encode(DELTA));
});
