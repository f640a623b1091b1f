/**
 * Inputs the fuzz test found that once produced a 500, kept as plain tests so they stay fixed
 * whatever seed the fuzz runs with.
 */
import { assertEquals } from "../assert.ts";
import { serve, testApp } from "../helpers.ts";
import { rawRequest } from "./raw_http.ts";

Deno.test("a run id longer than a KV key allows is just not found (was: 500)", async () => {
  const t = await testApp();
  try {
    const id = "y".repeat(9000);
    for (
      const [path, init] of [
        [`/api/research/${id}`, {}],
        [`/api/research/${id}/events`, {}],
        [`/api/research/${id}/export.md`, {}],
        [`/api/research/${id}/cancel`, { method: "POST" }],
        [`/api/research/${id}`, { method: "DELETE" }],
        [`/research/${id}`, {}],
        [`/api/research/${encodeURIComponent("../../x\u0000")}`, {}],
      ] as [string, RequestInit][]
    ) {
      const res = await t.app.request(path, init);
      assertEquals(res.status, 404, `${init.method ?? "GET"} ${path.slice(0, 40)}`);
      await res.body?.cancel();
    }
  } finally {
    t.close();
  }
});

Deno.test("a history cursor the server never issued is a 400 (was: 500)", async () => {
  const t = await testApp();
  try {
    for (const cursor of ["0", "abc", "%25", "-"]) {
      const res = await t.app.request(`/api/research?cursor=${cursor}`);
      assertEquals(res.status, 400, cursor);
      assertEquals((await res.json()).error.kind, "validation");
    }
  } finally {
    t.close();
  }
});

Deno.test("a body that ends before its Content-Length is a 400 (was: 500)", async () => {
  const logs: string[] = [];
  const t = await testApp({ log: (m) => logs.push(m) });
  const s = serve(t.app);
  try {
    const port = s.server.addr.port;
    const res = await rawRequest(
      port,
      `PATCH /api/settings HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\n` +
        `Content-Length: 100\r\nConnection: close\r\n\r\n{"llm.temperature":`,
      { closeWrite: true },
    );
    assertEquals(res.status, 400);
    assertEquals(JSON.parse(res.body).error.kind, "bad_request");
    assertEquals(logs.filter((l) => l.startsWith("Unexpected error")), []);
  } finally {
    await s.close();
    t.close();
  }
});
