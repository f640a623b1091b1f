import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { createStatusProber, probeStatus } from "../../lib/providers/status.ts";
import { startFakeLmStudio } from "../fakes/lmstudio.ts";
import { startFakeLlamaCpp } from "../fakes/llamacpp.ts";
import { blackHole, httpDeps, provider, refusedUrl } from "./support.ts";

Deno.test("status is available for an LM Studio-shaped body, identifies LM Studio and counts models", async () => {
  const lm = await startFakeLmStudio();
  try {
    const s = await probeStatus(httpDeps(), provider("lmstudio", lm.url));
    assertEquals(s.state, "available");
    assertEquals(s.server, "lmstudio");
    assertEquals(s.modelCount, 3);
    assertEquals(s.baseUrl, lm.url);
    assertEquals(s.error, undefined);
    assert(s.latencyMs >= 0 && s.latencyMs < 1000);
    console.log(`status probe latency against the fake LM Studio: ${s.latencyMs} ms`);
    const probe = lm.requests.find((r) => r.path === "/v1/models")!;
    assertEquals(probe.headers.authorization, "Bearer not-required");
  } finally {
    await lm.close();
  }
});

Deno.test("status reports wrong_path when LM Studio answers 200 with an error body", async () => {
  const lm = await startFakeLmStudio();
  try {
    // A base URL with a stray path: LM Studio answers 200 "Unexpected endpoint" there.
    const s = await probeStatus(httpDeps(), provider("lmstudio", `${lm.url}/proxy`));
    assertEquals(s.state, "wrong_path");
    assertEquals(s.server, "lmstudio");
    assertStringIncludes(s.error!.message, `${lm.url}/proxy/v1/models`);
    assertStringIncludes(s.hint, `set the URL to ${lm.url}`);
  } finally {
    await lm.close();
  }
});

Deno.test("status reports wrong_path for an HTML page and for a 404", async () => {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (req) =>
      new URL(req.url).pathname.startsWith("/v1")
        ? new Response("<!doctype html><html><body>Welcome</body></html>", {
          headers: { "content-type": "text/html" },
        })
        : new Response("nope", { status: 404 }),
  );
  try {
    const url = `http://127.0.0.1:${server.addr.port}`;
    const s = await probeStatus(httpDeps(), provider("openai_endpoint", url));
    assertEquals(s.state, "wrong_path");
    assertStringIncludes(s.error!.message, "HTML");
    const s404 = await probeStatus(httpDeps(), provider("openai_endpoint", `${url}/x`));
    assertEquals(s404.state, "wrong_path");
  } finally {
    await server.shutdown();
  }
});

Deno.test("status reports unreachable for a refused port, with the URL in the message", async () => {
  const url = refusedUrl();
  const s = await probeStatus(httpDeps(), provider("lmstudio", url));
  assertEquals(s.state, "unreachable");
  assertEquals(s.error?.kind, "connection");
  assertStringIncludes(s.error!.message, `${url}/v1/models`);
  assertStringIncludes(s.hint, "lms server start");
});

Deno.test("status reports timeout for a server that never answers, within the 1 s bound", async () => {
  const hole = blackHole();
  try {
    const t0 = performance.now();
    const s = await probeStatus(httpDeps(), provider("lmstudio", hole.url));
    const took = performance.now() - t0;
    assertEquals(s.state, "timeout");
    assertEquals(s.error?.kind, "timeout");
    assert(took < 3000, `probe took ${took} ms`);
    console.log(`timeout probe returned after ${took.toFixed(0)} ms`);
  } finally {
    hole.close();
  }
});

Deno.test("status reports auth_required on LM Studio's 401 and available with the right token", async () => {
  const lm = await startFakeLmStudio({ apiToken: "sk-lm-test:token" });
  try {
    const s = await probeStatus(httpDeps(), provider("lmstudio", lm.url));
    assertEquals(s.state, "auth_required");
    assertEquals(s.error?.kind, "authentication");
    assertStringIncludes(s.hint, "Manage Tokens");
    const ok = await probeStatus(httpDeps(), provider("lmstudio", lm.url, "sk-lm-test:token"));
    assertEquals(ok.state, "available");
    assert(!JSON.stringify(s).includes("sk-lm-test:token"));
  } finally {
    await lm.close();
  }
});

Deno.test("status reports no_models when the server lists nothing", async () => {
  const lm = await startFakeLmStudio({ jit: false, models: [] });
  try {
    const s = await probeStatus(httpDeps(), provider("lmstudio", lm.url));
    assertEquals(s.state, "no_models");
    assertEquals(s.modelCount, 0);
    assertStringIncludes(s.hint, "lms load");
  } finally {
    await lm.close();
  }
});

Deno.test("status identifies llama.cpp by its /v1/models shape", async () => {
  const llama = await startFakeLlamaCpp();
  try {
    const s = await probeStatus(httpDeps(), provider("llamacpp", llama.url));
    assertEquals([s.state, s.server, s.modelCount], ["available", "llamacpp", 1]);
  } finally {
    await llama.close();
  }
});

Deno.test("concurrent status callers share one probe and results are cached briefly", async () => {
  const lm = await startFakeLmStudio({ modelsDelayMs: 50 });
  try {
    const probe = createStatusProber(httpDeps());
    const p = provider("lmstudio", lm.url);
    const results = await Promise.all([probe(p), probe(p), probe(p), probe(p)]);
    assert(results.every((r) => r.state === "available"));
    const count = () => lm.requests.filter((r) => r.path === "/v1/models").length;
    assertEquals(count(), 1);
    await probe(p);
    assertEquals(count(), 1, "a second probe within 2 s is served from the cache");
    await probe(p, { fresh: true });
    assertEquals(count(), 2);
  } finally {
    await lm.close();
  }
});

Deno.test("the status cache is dropped when the URL or the key changes", async () => {
  const a = await startFakeLmStudio();
  const b = await startFakeLmStudio({ apiToken: "tok-123456" });
  try {
    const probe = createStatusProber(httpDeps());
    assertEquals((await probe(provider("lmstudio", a.url))).state, "available");
    const moved = await probe(provider("lmstudio", b.url));
    assertEquals(moved.state, "auth_required");
    assertEquals(moved.baseUrl, b.url);
    const keyed = await probe(provider("lmstudio", b.url, "tok-123456"));
    assertEquals(keyed.state, "available");
  } finally {
    await a.close();
    await b.close();
  }
});

Deno.test("in a container a loopback URL is flagged in the status with the Docker hint", async () => {
  const url = refusedUrl();
  const s = await probeStatus(httpDeps(true), provider("lmstudio", url));
  assertEquals(s.dockerLoopback, true);
  const port = new URL(url).port;
  assertStringIncludes(s.hint, `http://host.docker.internal:${port}`);
  assertEquals(s.error?.suggestedUrl, `http://host.docker.internal:${port}`);
});
