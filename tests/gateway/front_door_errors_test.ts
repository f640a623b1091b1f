/**
 * Everything under /v1 answers in OpenAI's error format, `{"error":{"message","type","code",
 * "param"}}` with OpenAI's type names, including the security layer's refusals in front of the
 * gateway: the official SDK must raise its usual classes (AuthenticationError for 401, …).
 */
import OpenAI from "openai";
import { assert, assertEquals } from "../assert.ts";
import { serve, testApp } from "../helpers.ts";

const TOKEN = "front-door-token-123456";
const KEYS = ["message", "type", "code", "param"];

async function openAiError(res: Response) {
  const body = await res.json();
  assertEquals(Object.keys(body), ["error"]);
  assertEquals(Object.keys(body.error), KEYS, JSON.stringify(body));
  return body.error as { message: string; type: string; code: string | null; param: null };
}

Deno.test("/v1 refusals of the security layer are OpenAI errors with OpenAI's type names", async () => {
  const t = await testApp({ config: { accessToken: TOKEN } });
  const auth = { authorization: `Bearer ${TOKEN}` };
  try {
    const none = await t.app.request("/v1/models");
    assertEquals(none.status, 401);
    const e401 = await openAiError(none);
    assertEquals([e401.type, e401.code], ["authentication_error", "invalid_api_key"]);

    const host = await t.app.request("/v1/models", { headers: { host: "evil.example", ...auth } });
    assertEquals(host.status, 403);
    assertEquals((await openAiError(host)).type, "permission_error");

    const cross = await t.app.request("/v1/chat/completions", {
      method: "POST",
      headers: { origin: "http://evil.example", "content-type": "application/json", ...auth },
      body: "{}",
    });
    assertEquals(cross.status, 403);
    assertEquals((await openAiError(cross)).type, "permission_error");

    const type = await t.app.request("/v1/chat/completions", {
      method: "POST",
      headers: { "content-type": "text/plain", ...auth },
      body: "{}",
    });
    assertEquals(type.status, 415);
    assertEquals((await openAiError(type)).type, "invalid_request_error");

    for (const path of ["/v1", "/v1/nope"]) {
      const missing = await t.app.request(path, { headers: auth });
      assertEquals(missing.status, 404, path);
      assertEquals((await openAiError(missing)).type, "not_found_error");
    }
  } finally {
    t.close();
  }
});

Deno.test("the official client raises AuthenticationError for a missing deepstudio token", async () => {
  const t = await testApp({ config: { accessToken: TOKEN } });
  const s = serve(t.app);
  try {
    const client = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: "wrong", maxRetries: 0 });
    let caught: unknown;
    try {
      await client.models.list();
    } catch (e) {
      caught = e;
    }
    assert(caught instanceof OpenAI.AuthenticationError, String(caught));
    assertEquals(caught.status, 401);
    assertEquals((caught.error as { type?: string }).type, "authentication_error");
  } finally {
    await s.close();
    t.close();
  }
});
