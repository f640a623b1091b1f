/**
 * Secrets (provider API keys, the access token) never leave the process: not in any GET response
 * (API, pages, island props), not in error messages, not in the log. Routes are read from
 * `app.routes`, so an export or history route added later is scanned too.
 */
import { assert, assertEquals, fail } from "../assert.ts";
import { json, testApp } from "../helpers.ts";
import { ConfigError, createContext } from "../../app.ts";
import { SETTING_KEYS, SETTINGS } from "../../lib/settings/schema.ts";
import { routeTable } from "./routes.ts";
import { fillPattern, plausibleParam } from "./routes.ts";

/**
 * A secret that starts with its random part (V8's JSON errors quote the first characters of the
 * input), so any 6-character window of that part is evidence of a leak.
 */
function secret(label: string): string {
  const bytes = crypto.getRandomValues(new Uint8Array(18));
  return `z${Array.from(bytes, (b) => b.toString(36).padStart(2, "0")).join("")}-${label}`;
}

function windows(s: string, size = 6): string[] {
  const body = s.slice(0, s.indexOf("-"));
  const out: string[] = [];
  for (let i = 0; i + size <= body.length; i++) out.push(body.slice(i, i + size));
  return out;
}

function findLeak(text: string, secrets: string[]): string | null {
  for (const s of secrets) {
    if (text.includes(s)) return s;
    for (const w of windows(s)) if (text.includes(w)) return `${s} (fragment ${w})`;
  }
  return null;
}

const SECRET_KEYS = SETTING_KEYS.filter((k) => (SETTINGS[k] as { secret?: boolean }).secret);

Deno.test("API keys set by PATCH and env, and the access token, never appear in responses or logs", async () => {
  const logs: string[] = [];
  const token = secret("token");
  const envKey = secret("env");
  const t = await testApp({
    env: { LDR_LLM_OPENAI_API_KEY: envKey },
    config: { accessToken: token },
    log: (m) => logs.push(m),
    // Wrong tokens below are about leaks, not guessing: the throttle would refuse the right one.
    signIn: { check: () => ({ ok: true }), failed() {}, succeeded() {} },
  });
  const auth = { authorization: `Bearer ${token}` };
  try {
    assert(SECRET_KEYS.length >= 4, "the schema marks its API keys secret");
    const patched: Record<string, string> = {};
    for (const key of SECRET_KEYS) if (key !== "llm.openai.api_key") patched[key] = secret("kv");
    const set = await t.app.request("/api/settings", json("PATCH", patched, auth));
    assertEquals(set.status, 200);
    const secrets = [token, envKey, ...Object.values(patched)];
    const outputs: string[] = [await set.text()];

    // Error paths that carry the secrets in the request.
    const errorRequests: [string, RequestInit][] = [
      ...SECRET_KEYS.map((k): [string, RequestInit] => [
        "/api/settings",
        json("PATCH", { [k]: `${patched[k] ?? envKey}\n` }, auth),
      ]),
      ...SECRET_KEYS.map((k): [string, RequestInit] => [
        "/api/settings",
        json("PATCH", { [k]: { nested: patched[k] ?? envKey } }, auth),
      ]),
      ["/api/settings", json("PATCH", { "llm.openai.api_key": "x" }, auth)], // env-locked
      ["/api/settings/llm.openai.api_key", { method: "DELETE", headers: auth }],
      ["/api/settings", json("PATCH", patched[SECRET_KEYS[0]], auth)], // not JSON at all
      ["/api/settings", json("PATCH", `{"k": ${patched[SECRET_KEYS[0]]}}`, auth)],
      ["/api/settings", json("PATCH", `["${patched[SECRET_KEYS[0]]}"]`, auth)],
      ["/api/settings", {
        method: "PATCH",
        headers: { ...auth, "content-type": "text/plain" },
        body: patched[SECRET_KEYS[0]],
      }],
      ["/api/settings", { headers: { authorization: `Bearer ${token}x` } }],
      ["/api/settings", { headers: { authorization: `Bearer ${envKey}` } }],
      ["/login", {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: `token=${encodeURIComponent(envKey)}`,
      }],
    ];
    for (const [path, init] of errorRequests) {
      const res = await t.app.request(path, init);
      assert(res.status >= 400, `${init.method} ${path} should fail, got ${res.status}`);
      outputs.push(await res.text());
      for (const [name, value] of res.headers) outputs.push(`${name}: ${value}`);
    }

    // Every GET route (API, pages, assets) with plausible parameters, signed in.
    const pick = <T>(xs: readonly T[]) => xs[0];
    for (const r of routeTable(t.app)) {
      if (r.method !== "GET" && r.method !== "ALL") continue;
      const path = fillPattern(r.pattern, (n) => String(plausibleParam(n, pick, [])));
      const res = await t.app.request(path, { headers: auth });
      outputs.push(await res.text());
      for (const [name, value] of res.headers) outputs.push(`${name}: ${value}`);
    }
    // The settings view shows that keys are set, as {set: true}, and nothing more.
    const view = await (await t.app.request("/api/settings", { headers: auth })).json();
    for (const key of SECRET_KEYS) assertEquals(view.settings[key].value, { set: true }, key);

    // Signing in: the cookie is not the token.
    const login = await t.app.request("/login", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: `token=${encodeURIComponent(token)}`,
    });
    assertEquals(login.status, 303);
    outputs.push(login.headers.get("set-cookie") ?? "");

    for (const text of [...outputs, ...logs]) {
      const leak = findLeak(text, secrets);
      if (leak) fail(`secret ${leak} leaked in: ${text.slice(0, 300)}`);
    }
  } finally {
    t.close();
  }
});

Deno.test("an invalid secret in the environment is named but not shown at start-up", async () => {
  const key = secret("badenv");
  const kv = await Deno.openKv(":memory:");
  try {
    createContext({ kv, env: { LDR_LLM_LMSTUDIO_API_KEY: `${key}\nsecond line` } });
    fail("start-up should refuse the invalid key");
  } catch (e) {
    assert(e instanceof ConfigError);
    assert(e.message.includes("LDR_LLM_LMSTUDIO_API_KEY"));
    assertEquals(findLeak(e.message, [key]), null, e.message);
  } finally {
    kv.close();
  }
});

Deno.test("provider URLs accept only http and https, without credentials", async () => {
  const t = await testApp();
  try {
    for (
      const url of [
        "file:///etc/passwd",
        "javascript:alert(1)",
        "ftp://localhost:1234",
        "data:text/plain,hi",
        "gopher://localhost:70",
        "http://user:pass@localhost:1234",
        "ws://localhost:1234",
      ]
    ) {
      const res = await t.app.request("/api/settings", json("PATCH", { "llm.lmstudio.url": url }));
      assertEquals(res.status, 400, url);
      const body = await res.json();
      assertEquals(body.error.kind, "validation");
      if (url.includes("pass")) {
        assert(!JSON.stringify(body).includes("pass@"), "credentials echoed");
      }
    }
    const ok = await t.app.request(
      "/api/settings",
      json("PATCH", { "llm.lmstudio.url": "https://lmstudio.lan:1234" }),
    );
    assertEquals(ok.status, 200);
    await ok.body?.cancel();
  } finally {
    t.close();
  }
});
