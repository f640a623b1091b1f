import { assertEquals, assertStringIncludes } from "../assert.ts";
import { testApp } from "../helpers.ts";
import { startFakeSearxng } from "../fakes/searxng.ts";

Deno.test("GET /api/search/status and the Status page show SearXNG's state and its fix", async () => {
  const fake = startFakeSearxng({ mode: "json_disabled" });
  const t = await testApp({ env: { LDR_SEARCH_SEARXNG_URL: fake.url } });
  try {
    const res = await t.app.request("/api/search/status");
    assertEquals(res.status, 200);
    const body = await res.json() as { engines: { id: string; state: string; hint?: string }[] };
    const searxng = body.engines.find((e) => e.id === "searxng")!;
    assertEquals(searxng.state, "unavailable");
    assertStringIncludes(searxng.hint ?? "", "search.formats");
    assertEquals(body.engines.find((e) => e.id === "library")?.state, "not_configured");
    // A public engine is listed but never probed: the Status page sends it no query.
    assertEquals(body.engines.find((e) => e.id === "wikipedia")?.state, "not_checked");

    const page = await (await t.app.request("/status")).text();
    assertStringIncludes(page, 'id="engine-searxng"');
    assertStringIncludes(page, "search.formats");

    fake.mode = "ok";
    const ok = await (await t.app.request("/api/search/status")).json() as typeof body;
    assertEquals(ok.engines.find((e) => e.id === "searxng")?.state, "available");
  } finally {
    t.close();
    await fake.close();
  }
});
