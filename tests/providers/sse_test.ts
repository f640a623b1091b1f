/** The one SSE reader: framing rules, split reads, and the relay's stripper agreeing with it. */
import { assertEquals, assertThrows } from "../assert.ts";
import { BodyTooLargeError } from "../../lib/providers/errors.ts";
import {
  createEventScanner,
  createSseParser,
  endsAtEventEnd,
  lastEventEnd,
  nextEventEnd,
  readSse,
} from "../../lib/providers/sse.ts";

const enc = new TextEncoder();

Deno.test("SSE parser: LF and CRLF events, multi-line data, comments, event and id fields", () => {
  const p = createSseParser();
  const events = p.push(enc.encode(
    ': comment\n\ndata: a\n\ndata: b\r\ndata:c\r\n\r\nevent: error\nid: 7\ndata: {"x":1}\n\nevent: only\n\n',
  ));
  assertEquals(events, [
    { event: null, data: "a", id: null },
    { event: null, data: "b\nc", id: null },
    { event: "error", data: '{"x":1}', id: "7" },
  ]);
  assertEquals(p.flush(), [], "an event without data is not dispatched");
});

Deno.test("SSE parser: an event split over reads at every byte comes out once, whole", () => {
  const bytes = enc.encode('data: {"a":"héllo"}\r\n\r\ndata: [DONE]\n\n');
  for (let cut = 1; cut < bytes.length; cut++) {
    const p = createSseParser();
    const out = [...p.push(bytes.subarray(0, cut)), ...p.push(bytes.subarray(cut)), ...p.flush()];
    assertEquals(out.map((e) => e.data), ['{"a":"héllo"}', "[DONE]"], `cut at ${cut}`);
  }
});

Deno.test("SSE parser: a last event without its blank line is flushed at the end", async () => {
  const body = new Response("data: 1\n\ndata: 2\n").body!;
  const seen: string[] = [];
  for await (const ev of readSse(body)) seen.push(ev.data);
  assertEquals(seen, ["1", "2"]);
});

Deno.test("SSE framing: end-of-event checks agree on LF and CRLF and reject a single line end", () => {
  assertEquals(endsAtEventEnd(enc.encode("data: a\n\n")), true);
  assertEquals(endsAtEventEnd(enc.encode("data: a\r\n\r\n")), true);
  assertEquals(endsAtEventEnd(enc.encode("data: a\r\n")), false);
  assertEquals(endsAtEventEnd(enc.encode("data: a\n")), false);
  assertEquals(lastEventEnd(enc.encode("data: a\r\n\r\ndata: b")), 11);
});

Deno.test("event scanner: event ends across chunks match the whole stream's, for every two cuts", () => {
  const text = 'data: {"a":1}\n\n: c\r\n\r\ndata: x\ndata: y\n\n\n\r\ndata: [DONE]\r\n\r\n';
  const bytes = new TextEncoder().encode(text);
  const whole: number[] = [];
  for (let at = nextEventEnd(bytes, 0); at !== -1; at = nextEventEnd(bytes, at)) whole.push(at);
  for (let i = 0; i <= bytes.length; i++) {
    for (let j = i; j <= bytes.length; j++) {
      const scanner = createEventScanner();
      const ends: number[] = [];
      for (const [a, b] of [[0, i], [i, j], [j, bytes.length]]) {
        const chunk = bytes.subarray(a, b);
        for (let e = scanner.next(chunk, 0); e !== -1; e = scanner.next(chunk, e)) ends.push(a + e);
      }
      assertEquals(ends, whole, `cuts at ${i} and ${j}`);
      assertEquals(scanner.pending, 0);
    }
  }
});

Deno.test("event scanner: an event over the cap throws whether it arrives whole or in pieces", () => {
  const big = new TextEncoder().encode(`data: ${"x".repeat(200)}\n\n`);
  assertThrows(() => createSseParser(100).push(big), BodyTooLargeError);
  const parser = createSseParser(100);
  assertThrows(() => {
    for (let i = 0; i < big.length; i += 10) parser.push(big.subarray(i, i + 10));
  }, BodyTooLargeError);
  const ok = createSseParser(100);
  for (let i = 0; i < 50; i++) {
    assertEquals(ok.push(new TextEncoder().encode("data: y\n\n")).length, 1);
  }
});
