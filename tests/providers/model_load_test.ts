/**
 * `POST /api/providers/lmstudio/models/load` and `/unload` against the fake LM Studio's native
 * routes (docs/lmstudio_native_api.md): load with a context, reload, progress while LM Studio is
 * silent, joined loads, disconnects that do not cancel, validation with the bound, 0.3.x.
 */
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { json, testApp } from "../helpers.ts";
import { type FakeLmStudio, startFakeLmStudio } from "../fakes/lmstudio.ts";
import { v1Error } from "../fakes/lmstudio_native.ts";

type Frame = { event: string; data: Record<string, unknown> };

async function frames(res: Response): Promise<Frame[]> {
  const text = await res.text();
  return text.split("\n\n").filter((b) => b.includes("data:")).map((b) => {
    const event = /^event: (.*)$/m.exec(b)?.[1] ?? "message";
    const data = JSON.parse(/^data: (.*)$/m.exec(b)![1]);
    return { event, data };
  });
}

async function setup(opts: Parameters<typeof startFakeLmStudio>[0] = {}) {
  const lm = await startFakeLmStudio(opts);
  const t = await testApp({ env: { LDR_LLM_LMSTUDIO_URL: lm.url } });
  return {
    lm,
    t,
    load: (body: unknown) =>
      t.app.request("/api/providers/lmstudio/models/load", json("POST", body)),
    async close() {
      t.close();
      await lm.close();
    },
  };
}

const loads = (lm: FakeLmStudio) => lm.requests.filter((r) => r.path === "/api/v1/models/load");

Deno.test("load with a context: SSE progress with elapsed time, done with the new record, lists updated at once", async () => {
  const s = await setup({ loadMs: 1300 });
  try {
    // Warm the model cache first: the load must not leave it stale.
    const before = await (await s.t.app.request("/api/providers/lmstudio/models")).json();
    assertEquals(before.models[1].state, "not-loaded");
    const res = await s.load({ model: "google/gemma-4-26b-a4b", contextLength: 16384 });
    assertEquals(res.status, 200);
    assertEquals(res.headers.get("content-type"), "text/event-stream; charset=utf-8");
    const got = await frames(res);
    assertEquals(got[0].event, "start");
    const progress = got.filter((f) => f.event === "progress");
    assert(progress.length >= 2, `progress frames: ${progress.length}`);
    assert((progress.at(-1)!.data.elapsedMs as number) >= 900);
    assertStringIncludes(String(progress.at(-1)!.data.message), "Loading google/gemma-4-26b-a4b");
    const done = got.at(-1)!;
    assertEquals(done.event, "done");
    assertEquals(done.data.instanceId, "google/gemma-4-26b-a4b");
    assertEquals(done.data.contextLength, 16384);
    const record = done.data.model as Record<string, unknown>;
    assertEquals([record.state, record.loadedContextLength], ["loaded", 16384]);
    assertEquals((loads(s.lm)[0].body as Record<string, unknown>).context_length, 16384);
    const after = await (await s.t.app.request("/api/providers/lmstudio/models")).json();
    assertEquals(after.models[1].state, "loaded", "no stale cache after the load");
    assertEquals(after.models[1].loadedContextLength, 16384);
  } finally {
    await s.close();
  }
});

Deno.test("loading a loaded model reloads it: unload first, one instance with the new context", async () => {
  const s = await setup();
  try {
    const got = await frames(await s.load({ model: "qwen2.5-7b-instruct", contextLength: 32768 }));
    const done = got.at(-1)!;
    assertEquals(done.event, "done");
    assertEquals(done.data.replaced, ["qwen2.5-7b-instruct"]);
    assert(got.some((f) => f.event === "progress" && f.data.phase === "unloading"));
    const paths = s.lm.requests.map((r) => r.path).filter((p) => p.includes("/models/"));
    assertEquals(paths, ["/api/v1/models/unload", "/api/v1/models/load"]);
    assertEquals(s.lm.options.models[0].loaded_instances.map((i) => i.config.context_length), [
      32768,
    ]);
  } finally {
    await s.close();
  }
});

Deno.test("bad load requests get 400 with the bound; nothing reaches LM Studio", async () => {
  const s = await setup();
  try {
    const cases: [unknown, string, number | null][] = [
      [{ model: "qwen2.5-7b-instruct", contextLength: 40000 }, "contextLength", 32768],
      [{ model: "qwen2.5-7b-instruct", contextLength: 8192.5 }, "contextLength", 32768],
      [{ model: "qwen2.5-7b-instruct", contextLength: 0 }, "contextLength", 32768],
      [{ model: "qwen2.5-7b-instruct", contextLength: "8192" }, "contextLength", null],
      [{ model: "no-such-model", contextLength: 8192 }, "model", null],
      [{ contextLength: 8192 }, "model", null],
      [{ model: "qwen2.5-7b-instruct", contextLength: 8192, extra: 1 }, "(body)", null],
    ];
    for (const [body, key, max] of cases) {
      const res = await s.load(body);
      assertEquals(res.status, 400, JSON.stringify(body));
      const { error } = await res.json();
      assertEquals(error.kind, "validation");
      assertEquals(error.issues[0].key, key, JSON.stringify(body));
      if (max !== null) {
        assertEquals(error.bound, { min: 1, max });
        assertStringIncludes(error.message, String(max));
      }
    }
    assertEquals(loads(s.lm).length, 0);
  } finally {
    await s.close();
  }
});

Deno.test("a client that disconnects does not cancel the load; the lists show it when it is done", async () => {
  const s = await setup({ loadMs: 600 });
  try {
    const res = await s.load({ model: "google/gemma-4-26b-a4b", contextLength: 8192 });
    const reader = res.body!.getReader();
    await reader.read(); // the start frame
    await reader.cancel();
    const sent = await s.lm.waitForRequest((r) => r.path === "/api/v1/models/load");
    // Poll observable state (the fake's models, then deepstudio's list) with a generous deadline.
    const deadline = Date.now() + 15_000;
    while (!s.lm.options.models[1].loaded_instances.length && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assertEquals(s.lm.options.models[1].loaded_instances.length, 1, "LM Studio finished the load");
    assertEquals(sent.aborted, false, "deepstudio kept waiting for LM Studio");
    let state = "";
    while (state !== "loaded" && Date.now() < deadline) {
      const list = await (await s.t.app.request("/api/providers/lmstudio/models")).json();
      state = list.models[1].state;
      if (state !== "loaded") await new Promise((r) => setTimeout(r, 50));
    }
    assertEquals(state, "loaded");
  } finally {
    await s.close();
  }
});

Deno.test("a second load of the same model joins the first (one load at LM Studio); another size is a 409", async () => {
  const s = await setup({ loadMs: 300 });
  try {
    const body = { model: "google/gemma-4-26b-a4b", contextLength: 16384 };
    const first = await s.load(body);
    const second = await s.load(body);
    const conflict = await s.load({ ...body, contextLength: 8192 });
    assertEquals(conflict.status, 409);
    assertStringIncludes((await conflict.json()).error.message, "16384");
    const [a, b] = await Promise.all([frames(first), frames(second)]);
    assertEquals([a[0].data.joined, b[0].data.joined], [false, true]);
    assertEquals(a.at(-1)!.data.instanceId, "google/gemma-4-26b-a4b");
    assertEquals(b.at(-1)!.data.instanceId, "google/gemma-4-26b-a4b");
    assertEquals(loads(s.lm).length, 1);
    assertEquals(s.lm.options.models[1].loaded_instances.length, 1);
  } finally {
    await s.close();
  }
});

Deno.test("LM Studio 0.3.x: a typed 'needs LM Studio 0.4 or later' error with the in-app way", async () => {
  const s = await setup({ nativeV1: false });
  try {
    const res = await s.load({ model: "qwen2.5-7b-instruct", contextLength: 16384 });
    assertEquals(res.status, 502);
    const { error } = await res.json();
    assertEquals([error.kind, error.title, error.needs], [
      "bad_request",
      "Needs LM Studio 0.4 or later",
      "lmstudio-0.4",
    ]);
    assertStringIncludes(error.hint, "Context Length");
    assertStringIncludes(error.hint, "lms load");
  } finally {
    await s.close();
  }
});

Deno.test("a load LM Studio refuses ends the stream with a typed error carrying its message", async () => {
  const s = await setup({
    loadError: {
      status: 500,
      body: v1Error("unknown", "Failed to load model: not enough memory (needs 18 GB)"),
    },
  });
  try {
    const got = await frames(
      await s.load({ model: "google/gemma-4-26b-a4b", contextLength: 8192 }),
    );
    const end = got.at(-1)!;
    assertEquals(end.event, "error");
    const error = end.data.error as Record<string, string>;
    assertEquals(error.kind, "server_error");
    assertStringIncludes(error.message, "not enough memory");
  } finally {
    await s.close();
  }
});

Deno.test("unload frees an instance and the lists show it at once; an unknown instance is a 404", async () => {
  const s = await setup();
  try {
    await s.t.app.request("/api/providers/lmstudio/models"); // warm the cache
    const res = await s.t.app.request(
      "/api/providers/lmstudio/models/unload",
      json("POST", { instanceId: "qwen2.5-7b-instruct" }),
    );
    assertEquals(res.status, 200);
    const body = await res.json();
    assertEquals([body.instanceId, body.model.state], ["qwen2.5-7b-instruct", "not-loaded"]);
    const list = await (await s.t.app.request("/api/providers/lmstudio/models")).json();
    assertEquals(list.models[0].state, "not-loaded");
    const missing = await s.t.app.request(
      "/api/providers/lmstudio/models/unload",
      json("POST", { instanceId: "qwen2.5-7b-instruct" }),
    );
    assertEquals(missing.status, 404);
  } finally {
    await s.close();
  }
});
