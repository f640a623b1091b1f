/** The capped body reader against a real server: declared, compressed and chunked bodies. */
import { assertEquals } from "../assert.ts";
import { readCapped } from "../../lib/net/read_capped.ts";

async function gzip(bytes: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> {
  const stream = new Blob([bytes]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

Deno.test("readCapped: declared bodies within the cap whole, over it refused; compressed and chunked ones capped as they stream", async () => {
  const big = new Uint8Array(300_000).map((_, i) => i % 251);
  const packed = await gzip(new Uint8Array(300_000)); // a few hundred bytes on the wire
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const path = new URL(req.url).pathname;
    if (path === "/gzip") {
      return new Response(packed, {
        headers: { "content-encoding": "gzip", "content-length": String(packed.length) },
      });
    }
    if (path === "/chunked") {
      let sent = 0;
      return new Response(
        new ReadableStream({
          pull(c) {
            if (sent >= big.length) return c.close();
            c.enqueue(big.slice(sent, sent += 10_000));
          },
        }),
      );
    }
    return new Response(big); // Content-Length declared
  });
  const url = `http://127.0.0.1:${server.addr.port}`;
  try {
    const whole = await readCapped(await fetch(url), 300_000);
    assertEquals(whole?.length, big.length);
    assertEquals(whole, big);
    assertEquals(await readCapped(await fetch(url), 299_999), null);
    // Few bytes declared, many once decoded: the cap is on what is decoded.
    assertEquals(await readCapped(await fetch(`${url}/gzip`), 100_000), null);
    assertEquals((await readCapped(await fetch(`${url}/gzip`), 300_000))?.length, 300_000);
    assertEquals(await readCapped(await fetch(`${url}/chunked`), 100_000), null);
    assertEquals(await readCapped(await fetch(`${url}/chunked`), 300_000), big);
  } finally {
    await server.shutdown();
  }
});
