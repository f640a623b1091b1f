/** The one SSE reader: framing rules, split reads, and the relay's stripper agreeing with it. */
import { assertEquals } from "../assert.ts";
import { createSseParser, endsAtEventEnd, lastEventEnd, readSse } from "../../lib/providers/sse.ts";

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
