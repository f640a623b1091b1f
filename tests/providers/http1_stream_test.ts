/**
 * The raw upstream client's body reads (lib/providers/http1_client.ts): a quiet stream waits with
 * a small buffer and a busy one reads 16 KiB at a time from a shared pool of buffers. Streams
 * switching between the two, side by side, must each get exactly their own bytes, and a frame
 * after a pause must come as soon as it is written.
 */
import { assertEquals } from "../assert.ts";
import { createUpstreamClient } from "../../lib/providers/http1_client.ts";
import { rawServer, write } from "./raw_server.ts";

const decoder = new TextDecoder();
const unused: typeof fetch = () => Promise.reject(new Error("fallback used"));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Stream `id`'s parts: quiet frames, a burst far over 16 KiB, one over 1 KiB, quiet again. */
function parts(id: number): string[] {
  const frame = (i: number) => `data: {"s":${id},"i":${i}}\n\n`;
  const burst = (n: number, c: string) => `data: ${c.repeat(n)}${id}\n\n`;
  return [
    frame(0),
    frame(1),
    burst(40_000, String.fromCharCode(97 + id)),
    frame(2),
    burst(1500, String.fromCharCode(65 + id)),
    frame(3),
    frame(4),
  ];
}

Deno.test("streams switching between quiet and busy reads, side by side, each get exactly their bytes", async () => {
  const server = rawServer(async (conn, seen) => {
    const id = Number(decoder.decode(seen.body));
    const chunked = id % 2 === 0;
    const all = parts(id);
    const length = new TextEncoder().encode(all.join("")).length;
    await write(
      conn,
      `HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n${
        chunked ? "transfer-encoding: chunked" : `content-length: ${length}`
      }\r\n\r\n`,
    );
    for (const p of all) {
      const size = new TextEncoder().encode(p).length;
      await write(conn, chunked ? `${size.toString(16)}\r\n${p}\r\n` : p);
      await sleep(15);
    }
    if (chunked) await write(conn, "0\r\n\r\n");
  });
  const client = createUpstreamClient({ fallback: unused });
  const got = await Promise.all(Array.from({ length: 8 }, async (_, id) => {
    const res = await client(`${server.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: String(id),
    });
    // Kept as received and decoded at the end: a chunk that still pointed into a read buffer
    // would show the bytes of a later read (or of another stream) by then.
    const chunks: Uint8Array[] = [];
    for await (const chunk of res.body!) chunks.push(chunk);
    const texts = chunks.map((c) => decoder.decode(c));
    return { text: texts.join(""), firsts: texts.filter((t) => t.startsWith("data: {")) };
  }));
  for (const [id, { text, firsts }] of got.entries()) {
    assertEquals(text, parts(id).join(""));
    // Each small frame written after a pause is a chunk of its own: nothing waits for more.
    assertEquals(firsts, [0, 1, 2, 3, 4].map((i) => `data: {"s":${id},"i":${i}}\n\n`));
  }
  await server.close();
});
