import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { json, testApp } from "../helpers.ts";

type Body = {
  error: { kind: string; message: string; issues?: { key: string; message: string }[] };
};

Deno.test("GET /api/settings shows defaults with their source and metadata", async () => {
  const t = await testApp();
  const res = await t.app.request("/api/settings");
  assertEquals(res.status, 200);
  const body = await res.json();
  const url = body.settings["llm.lmstudio.url"];
  assertEquals(url.value, "http://localhost:1234");
  assertEquals(url.source, "default");
  assertEquals(url.locked, false);
  assertEquals(url.env, "LDR_LLM_LMSTUDIO_URL");
  assertEquals(url.group, "lmstudio");
  assertEquals(body.settings["llm.temperature"].min, 0);
  assertEquals(body.settings["llm.temperature"].max, 2);
  assertEquals(body.settings["llm.lmstudio.api_key"].value, { set: false });
  t.close();
});

Deno.test("an env override shows as source env, locked, and a PATCH of it gets 403", async () => {
  const t = await testApp({ env: { LDR_LLM_LMSTUDIO_URL: "http://127.0.0.1:9999" } });
  const body = await (await t.app.request("/api/settings")).json();
  assertEquals(body.settings["llm.lmstudio.url"].value, "http://127.0.0.1:9999");
  assertEquals(body.settings["llm.lmstudio.url"].source, "env");
  assertEquals(body.settings["llm.lmstudio.url"].locked, true);
  const res = await t.app.request(
    "/api/settings",
    json("PATCH", { "llm.lmstudio.url": "http://x:1" }),
  );
  assertEquals(res.status, 403);
  const err: Body = await res.json();
  assertEquals(err.error.kind, "locked");
  assertStringIncludes(err.error.message, "LDR_LLM_LMSTUDIO_URL");
  const del = await t.app.request("/api/settings/llm.lmstudio.url", { method: "DELETE" });
  assertEquals(del.status, 403);
  t.close();
});

Deno.test("PATCH validates every key and stores nothing when one is bad", async () => {
  const t = await testApp();
  const res = await t.app.request(
    "/api/settings",
    json("PATCH", { "llm.model": "qwen", "llm.temperature": 3, "no.such": 1 }),
  );
  assertEquals(res.status, 400);
  const err: Body = await res.json();
  assertEquals(err.error.kind, "validation");
  assertEquals(err.error.issues?.map((i) => i.key).sort(), ["llm.temperature", "no.such"]);
  const after = await (await t.app.request("/api/settings")).json();
  assertEquals(after.settings["llm.model"].value, "");
  t.close();
});

Deno.test("PATCH applies, normalises URLs, hides secrets, and DELETE resets", async () => {
  const t = await testApp();
  const res = await t.app.request(
    "/api/settings",
    json("PATCH", {
      "llm.lmstudio.url": "localhost:4321/v1/",
      "llm.lmstudio.api_key": "sk-lm-abc:def",
    }),
  );
  assertEquals(res.status, 200);
  const text = await res.text();
  assertEquals(text.includes("sk-lm-abc"), false, "the key is never echoed");
  const body = JSON.parse(text);
  assertEquals(body.settings["llm.lmstudio.url"].value, "http://localhost:4321");
  assertEquals(body.settings["llm.lmstudio.url"].source, "kv");
  assertEquals(body.settings["llm.lmstudio.api_key"].value, { set: true });
  const get = await (await t.app.request("/api/settings")).text();
  assertEquals(get.includes("sk-lm-abc"), false);
  const del = await t.app.request("/api/settings/llm.lmstudio.url", { method: "DELETE" });
  assertEquals(del.status, 200);
  assertEquals((await del.json()).settings["llm.lmstudio.url"].value, "http://localhost:1234");
  t.close();
});

Deno.test("bad bodies get 4xx in the error shape", async () => {
  const t = await testApp();
  const cases: [RequestInit, number, string][] = [
    [json("PATCH", "{not json"), 400, "bad_request"],
    [json("PATCH", "[1,2]"), 400, "bad_request"],
    [json("PATCH", "null"), 400, "bad_request"],
    [json("PATCH", ""), 400, "bad_request"],
    [
      { method: "PATCH", headers: { "content-type": "text/plain" }, body: "{}" },
      415,
      "unsupported_media_type",
    ],
    [{ method: "PATCH", body: "a=b" }, 415, "unsupported_media_type"],
    [
      json("PATCH", JSON.stringify({ "llm.model": "x".repeat(70 * 1024) })),
      413,
      "payload_too_large",
    ],
  ];
  for (const [init, status, kind] of cases) {
    const res = await t.app.request("/api/settings", init);
    assertEquals(res.status, status, `${init.body?.toString().slice(0, 20)}`);
    const body: Body = await res.json();
    assertEquals(body.error.kind, kind);
    assert(body.error.message.length > 0);
  }
  const unknown = await t.app.request("/api/settings/no.such", { method: "DELETE" });
  assertEquals(unknown.status, 404);
  assertEquals((await unknown.json()).error.kind, "not_found");
  t.close();
});

Deno.test("unknown API paths and wrong methods answer JSON errors", async () => {
  const t = await testApp();
  const nf = await t.app.request("/api/nope");
  assertEquals(nf.status, 404);
  assertEquals((await nf.json()).error.kind, "not_found");
  const wm = await t.app.request("/api/settings", { method: "PUT" });
  assertEquals(wm.status, 405);
  assertEquals((await wm.json()).error.kind, "method_not_allowed");
  t.close();
});

Deno.test("GET /api/health reports ok and the version", async () => {
  const t = await testApp();
  const body = await (await t.app.request("/api/health")).json();
  assertEquals(body.status, "ok");
  assertEquals(typeof body.version, "string");
  t.close();
});

Deno.test("a restart on the same KV file keeps PATCHed values", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/ds.kv`;
  const kv1 = await Deno.openKv(path);
  const a = await testApp({ kv: kv1 });
  await a.app.request("/api/settings", json("PATCH", { "llm.model": "kept-model" }));
  a.close();
  const kv2 = await Deno.openKv(path);
  const b = await testApp({ kv: kv2 });
  const body = await (await b.app.request("/api/settings")).json();
  assertEquals(body.settings["llm.model"].value, "kept-model");
  b.close();
  await Deno.remove(dir, { recursive: true });
});
