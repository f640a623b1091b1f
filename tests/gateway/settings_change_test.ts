/**
 * A saved setting applies to the very next /v1 request, with the app's settings cached in process
 * (`--kv :memory:`: no KV read per request) and providers resolved once per settings object.
 */
import { assertEquals } from "../assert.ts";
import { startFakeLmStudio } from "../fakes/lmstudio.ts";
import { serve, testApp } from "../helpers.ts";

Deno.test("each saved server URL gets the very next /v1 chat request (cached settings)", async () => {
  const a = await startFakeLmStudio();
  const b = await startFakeLmStudio();
  const t = await testApp({ config: { kvPath: ":memory:" } });
  const s = serve(t.app);
  const call = (method: string, path: string, body: unknown) =>
    fetch(`${s.url}${path}`, {
      method,
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  try {
    for (let i = 0; i < 6; i++) {
      const target = i % 2 ? b : a;
      const saved = await call("PATCH", "/api/settings", { "llm.lmstudio.url": target.url });
      assertEquals(saved.status, 200, await saved.text());
      const before = [a.chatRequests().length, b.chatRequests().length];
      const res = await call("POST", "/v1/chat/completions", {
        model: "qwen2.5-7b-instruct",
        messages: [{ role: "user", content: "hi" }],
      });
      assertEquals(res.status, 200, await res.text());
      const after = [a.chatRequests().length, b.chatRequests().length];
      assertEquals(
        [after[0] - before[0], after[1] - before[1]],
        i % 2 ? [0, 1] : [1, 0],
        `request ${i} went to the URL saved just before it`,
      );
    }
  } finally {
    await s.close();
    t.close();
    await a.close();
    await b.close();
  }
});
