/**
 * A saved API key goes only to the URL it was saved with. A connection test of another URL (with
 * no key in the request) must not send it: anyone who can use the API could otherwise point the
 * test at a listener and read the key from its Authorization header.
 */
import { assert, assertEquals } from "../assert.ts";
import { json, testApp } from "../helpers.ts";
import { startFakeLmStudio } from "../fakes/lmstudio.ts";

const SAVED_KEY = "tok-saved-key-5d1e8a2b9c";

/** A listener that records every Authorization header it is sent (and answers like nothing). */
function listener() {
  const seen: (string | null)[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    seen.push(req.headers.get("authorization"));
    return new Response("{}", { headers: { "content-type": "application/json" } });
  });
  return { url: `http://127.0.0.1:${server.addr.port}`, seen, close: () => server.shutdown() };
}

Deno.test("testing an unsaved URL never sends the saved key; testing the saved URL does", async () => {
  const lm = await startFakeLmStudio({ apiToken: SAVED_KEY });
  const spy = listener();
  const t = await testApp({
    env: { LDR_LLM_LMSTUDIO_URL: lm.url, LDR_LLM_LMSTUDIO_API_KEY: SAVED_KEY },
  });
  try {
    const probe = await t.app.request(
      "/api/providers/lmstudio/test",
      json("POST", { url: spy.url }),
    );
    assertEquals(probe.status, 200);
    await probe.body?.cancel();
    const nulled = await t.app.request(
      "/api/providers/lmstudio/test",
      json("POST", { url: `${spy.url}/v1`, apiKey: null }),
    );
    await nulled.body?.cancel();
    assert(spy.seen.length > 0, "the listener was probed");
    for (const header of spy.seen) {
      assert(!(header ?? "").includes(SAVED_KEY), `the saved key reached the listener: ${header}`);
    }

    // The saved URL (however it is written) still gets the saved key.
    for (const url of [lm.url, `${lm.url}/v1/`, lm.url.replace("http://", "")]) {
      const res = await t.app.request("/api/providers/lmstudio/test", json("POST", { url }));
      assertEquals((await res.json()).state, "available", url);
    }
    // A key typed into the form goes where the form says.
    const typed = await t.app.request(
      "/api/providers/lmstudio/test",
      json("POST", { url: spy.url, apiKey: "tok-typed" }),
    );
    await typed.body?.cancel();
    assert(spy.seen.includes("Bearer tok-typed"));
  } finally {
    t.close();
    await spy.close();
    await lm.close();
  }
});

Deno.test("the other routes that meet a key use the saved URL with it, never another", async () => {
  const spy = listener();
  const t = await testApp({
    env: { LDR_LLM_OPENAI_ENDPOINT_URL: spy.url, LDR_LLM_OPENAI_ENDPOINT_API_KEY: SAVED_KEY },
  });
  try {
    // Status and model lists read URL and key from the same saved settings: the key goes to
    // the saved URL (the listener here, by configuration) and nowhere else.
    for (
      const path of [
        "/api/providers/openai_endpoint/status?fresh=1",
        "/api/providers/openai_endpoint/models?fresh=1",
      ]
    ) {
      const res = await t.app.request(path);
      await res.body?.cancel();
    }
    assert(spy.seen.length >= 2);
    assert(spy.seen.every((h) => h === `Bearer ${SAVED_KEY}`), spy.seen.join(", "));
  } finally {
    t.close();
    await spy.close();
  }
});
