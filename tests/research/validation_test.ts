import { assertEquals, assertMatch, assertStringIncludes } from "../assert.ts";
import { DEFAULT_MODELS, loadedModel } from "../fakes/lmstudio.ts";
import { harness } from "./support.ts";

Deno.test("bad research requests are refused before anything starts, saying what to do", async () => {
  const h = await harness({
    fake: {
      models: [
        loadedModel("model-a", 4096),
        loadedModel("model-b", 8192),
        structuredClone(DEFAULT_MODELS[2]), // an embedding model
      ],
    },
  });
  try {
    const cases: [unknown, number, string, RegExp][] = [
      [{ query: "   ", mode: "quick" }, 400, "validation", /query: Enter a question/],
      [{ mode: "quick" }, 400, "validation", /query/],
      [{ query: "x", mode: "fast" }, 400, "validation", /mode: Choose mode "quick" or "detailed"/],
      [
        { query: "x", provider: "bard" },
        400,
        "validation",
        /Unknown provider; choose one of lmstudio/,
      ],
      [{ query: "x", temperature: 3 }, 400, "validation", /temperature: Must be at most 2/],
      [{ query: "x", maxTokens: 1.5 }, 400, "validation", /maxTokens/],
      [{ query: "x", extra: true }, 400, "validation", /extra/],
      [
        { query: "x", mode: "quick" },
        400,
        "validation",
        /No model selected and LM Studio at .* has 2 loaded \(model-a, model-b\): pick one/,
      ],
      [
        { query: "x", model: "text-embedding-nomic-embed-text-v1.5-embedding" },
        400,
        "validation",
        /is an embedding model and cannot answer questions; pick a chat model\. Chat models on LM Studio: model-a, model-b/,
      ],
      [{ query: "x", model: "gpt-7" }, 400, "validation", /LM Studio at .* has no model "gpt-7"/],
      [
        { query: "語".repeat(4000), model: "model-a" },
        400,
        "validation",
        /context of 4096 tokens leaves no room for an answer/,
      ],
    ];
    for (const [body, status, kind, message] of cases) {
      const res = await h.post(body);
      const label = JSON.stringify(body).slice(0, 60);
      assertEquals(res.status, status, label);
      const error = res.json.error as { kind: string; message: string };
      assertEquals(error.kind, kind, label);
      assertMatch(error.message, message, label);
    }
    // Nothing was started or stored.
    assertEquals(h.lm.chatRequests().length, 0);
    assertEquals((await h.get("/api/research")).json.runs, []);
    // A named model is accepted and used.
    const ok = await h.post({ query: "x", model: "model-b" });
    assertEquals(ok.status, 202);
    const run = await h.waitRun(ok.json.id as string);
    assertEquals(run.settings.model, "model-b");
    assertEquals(run.settings.contextWindow, 8192);
    assertEquals(run.settings.modelChosen, true);
  } finally {
    await h.close();
  }
});

Deno.test("with LM Studio down and no model named, the refusal names the URL and the fix", async () => {
  const h = await harness({ fake: {} });
  const url = h.lm.url;
  await h.lm.close();
  try {
    const res = await h.post({ query: "anyone there?" });
    assertEquals(res.status, 502);
    const error = res.json.error as Record<string, unknown>;
    assertEquals(error.kind, "upstream");
    assertStringIncludes(String(error.message), url);
    assertStringIncludes(String(error.message), "Start LM Studio's server");
    assertEquals((error.upstream as { kind: string }).kind, "connection");
  } finally {
    await h.close();
  }
});

Deno.test("unknown runs are 404 in the error shape on every route", async () => {
  const h = await harness();
  try {
    for (
      const [method, path] of [
        ["GET", "/api/research/nope"],
        ["GET", "/api/research/nope/events"],
        ["GET", "/api/research/nope/export.md"],
        ["POST", "/api/research/nope/cancel"],
        ["DELETE", "/api/research/nope"],
      ]
    ) {
      const res = await fetch(`${h.url}${path}`, { method });
      assertEquals(res.status, 404, `${method} ${path}`);
      assertEquals((await res.json()).error.kind, "not_found");
    }
  } finally {
    await h.close();
  }
});
