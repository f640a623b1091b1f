/**
 * The access token: bearer for the API (and /v1), a server-rendered sign-in form and an HttpOnly
 * SameSite=Strict session cookie for the browser, /api/health left open for Docker.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "../assert.ts";
import { json, testApp } from "../helpers.ts";
import { SESSION_TTL_SECONDS } from "../../lib/http/security.ts";
import { concretePaths, isApiPattern } from "./routes.ts";

const TOKEN = "tok-5b1e0c7f2d9a4e6b8c3d";
const HOST = "127.0.0.1:5000";
const COOKIE_NAME = "deepstudio_session_5000";

function form(fields: Record<string, string>, headers: Record<string, string> = {}): RequestInit {
  return {
    method: "POST",
    headers: { host: HOST, "content-type": "application/x-www-form-urlencoded", ...headers },
    body: new URLSearchParams(fields).toString(),
  };
}

/** Parses one Set-Cookie header into its value and lower-cased attributes. */
function parseSetCookie(header: string) {
  const [pair, ...attrs] = header.split(";").map((s) => s.trim());
  const eq = pair.indexOf("=");
  const map = new Map<string, string>();
  for (const a of attrs) {
    const i = a.indexOf("=");
    map.set((i === -1 ? a : a.slice(0, i)).toLowerCase(), i === -1 ? "" : a.slice(i + 1));
  }
  return { name: pair.slice(0, eq), value: pair.slice(eq + 1), attrs: map };
}

async function signIn(
  app: { request: (p: string, i: RequestInit) => Response | Promise<Response> },
) {
  const res = await app.request("/login", form({ token: TOKEN, next: "/settings" }));
  assertEquals(res.status, 303);
  const cookie = parseSetCookie(res.headers.get("set-cookie") ?? "");
  return { res, cookie, header: `${cookie.name}=${cookie.value}` };
}

Deno.test("with a token, every API route but /api/health needs it: 401 + WWW-Authenticate", async () => {
  // Hundreds of wrong tokens from one address: this test is about the token check, so the guessing
  // throttle (tests/security/throttle_test.ts) is replaced by one that lets everything through.
  const t = await testApp({
    config: { accessToken: TOKEN },
    signIn: { check: () => ({ ok: true }), failed() {}, succeeded() {} },
  });
  const open = await testApp();
  try {
    const api = concretePaths(t.app).filter((p) => isApiPattern(p.pattern));
    assert(api.length >= 3);
    const extra = [
      { method: "GET", path: "/v1/models", pattern: "/v1/models" },
      { method: "POST", path: "/v1/chat/completions", pattern: "/v1/chat/completions" },
      { method: "GET", path: "/api/no-such-thing", pattern: "" },
    ];
    for (const { method, path } of [...api, ...extra]) {
      const init = (headers: Record<string, string>) =>
        method === "GET" ? { method, headers } : json(method, {}, headers);
      if (path === "/api/health") {
        const res = await t.app.request(path, init({}));
        assertEquals(res.status, 200, "health stays open for Docker's health check");
        await res.body?.cancel();
        continue;
      }
      const none = await t.app.request(path, init({}));
      assertEquals(none.status, 401, `${method} ${path} without a token`);
      assertEquals(none.headers.get("www-authenticate"), 'Bearer realm="deepstudio"');
      const err = (await none.json()).error;
      assertStringIncludes(err.message, "Authorization: Bearer");
      if (path.startsWith("/v1/")) {
        // OpenAI SDKs pointed at the gateway read OpenAI's error format and type names.
        assertEquals(Object.keys(err), ["message", "type", "code", "param"]);
        assertEquals([err.type, err.code, err.param], [
          "authentication_error",
          "invalid_api_key",
          null,
        ]);
      } else assertEquals(err.kind, "unauthorized");

      for (const bad of [`Bearer ${TOKEN}x`, "Bearer ", `Basic ${btoa(`u:${TOKEN}`)}`, TOKEN]) {
        const wrong = await t.app.request(path, init({ authorization: bad }));
        assertEquals(wrong.status, 401, `${method} ${path} with ${bad}`);
        assertStringIncludes(wrong.headers.get("www-authenticate") ?? "", 'error="invalid_token"');
        const body = await wrong.text();
        assert(!body.includes(TOKEN), "the presented token is not echoed");
      }

      const right = await t.app.request(path, init({ authorization: `Bearer ${TOKEN}` }));
      const same = await open.app.request(path, init({}));
      assertEquals(right.status, same.status, `${method} ${path} with the right token`);
      await right.body?.cancel();
      await same.body?.cancel();
    }
  } finally {
    t.close();
    open.close();
  }
});

Deno.test("pages without a session redirect to /login; the bearer token opens them too", async () => {
  const t = await testApp({ config: { accessToken: TOKEN } });
  try {
    const res = await t.app.request("/settings?tab=llm", { headers: { host: HOST } });
    assertEquals(res.status, 303);
    assertEquals(res.headers.get("location"), "/login?next=%2Fsettings%3Ftab%3Dllm");
    const unknown = await t.app.request("/no/such/page");
    assertEquals(unknown.status, 303, "no hint about which pages exist");
    const post = await t.app.request("/settings", { method: "POST" });
    assertEquals(post.status, 401);
    assertEquals((await post.json()).error.kind, "unauthorized");
    const bearer = await t.app.request("/settings", {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    assertEquals(bearer.status, 200);
    await bearer.body?.cancel();
    for (const path of ["/login", "/api/health"]) {
      const r = await t.app.request(path);
      assertEquals(r.status, 200, path);
      await r.body?.cancel();
    }
  } finally {
    t.close();
  }
});

Deno.test("the sign-in form works without JavaScript and sets a strict, HttpOnly session cookie", async () => {
  const logs: string[] = [];
  const t = await testApp({ config: { accessToken: TOKEN }, log: (m) => logs.push(m) });
  try {
    const page = await t.app.request("/login?next=%2Fsettings", { headers: { host: HOST } });
    assertEquals(page.status, 200);
    assertEquals(page.headers.get("cache-control"), "no-store");
    const html = await page.text();
    assertMatch(html, /<form method="post" action="\/login"/);
    assertMatch(
      html,
      /<input[^>]+type="password"[^>]+name="token"|name="token"[^>]+type="password"/,
    );
    assertStringIncludes(html, 'name="next" value="/settings"');
    assert(!/<script/i.test(html), "the sign-in page needs no JavaScript");

    const { res, cookie, header } = await signIn(t.app);
    assertEquals(res.headers.get("location"), "/settings");
    assertEquals(cookie.name, COOKIE_NAME);
    assert(!cookie.value.includes(TOKEN), "the cookie is not the token");
    assert(cookie.attrs.has("httponly"));
    assertEquals(cookie.attrs.get("samesite"), "Strict");
    assertEquals(cookie.attrs.get("path"), "/");
    assertEquals(cookie.attrs.get("max-age"), String(SESSION_TTL_SECONDS));
    assert(!cookie.attrs.has("secure"), "plain http on localhost: no Secure flag");
    assert(!cookie.attrs.has("domain"));

    const withCookie = { host: HOST, cookie: header };
    const settings = await t.app.request("/settings", { headers: withCookie });
    assertEquals(settings.status, 200);
    await settings.body?.cancel();
    const api = await t.app.request("/api/settings", { headers: withCookie });
    assertEquals(api.status, 200);
    await api.body?.cancel();
    const patch = await t.app.request(
      "/api/settings",
      json("PATCH", { "llm.temperature": 0.3 }, {
        ...withCookie,
        origin: "null",
        "sec-fetch-site": "same-origin",
      }),
    );
    assertEquals(patch.status, 200);
    await patch.body?.cancel();
    const signedIn = await t.app.request("/login", { headers: withCookie });
    assertStringIncludes(await signedIn.text(), 'action="/logout"');
    assert(logs.every((l) => !l.includes(TOKEN)));
  } finally {
    t.close();
  }
});

Deno.test("a wrong token on the form gets 401, no cookie, no echo, and no log line for a typo", async () => {
  const logs: string[] = [];
  const t = await testApp({ config: { accessToken: TOKEN }, log: (m) => logs.push(m) });
  try {
    const guess = "guess-guess-guess-1234";
    const res = await t.app.request("/login", form({ token: guess, next: "/settings" }));
    assertEquals(res.status, 401);
    assertEquals(res.headers.get("set-cookie"), null);
    const html = await res.text();
    assertStringIncludes(html, "not the access token");
    assert(!html.includes(guess) && !html.includes(TOKEN));
    // One wrong token is a typo; repeated ones log one line per escalation (throttle_test.ts).
    assertEquals(logs, []);
    const empty = await t.app.request("/login", form({}));
    assertEquals(empty.status, 401);
    await empty.body?.cancel();
  } finally {
    t.close();
  }
});

Deno.test("the sign-in form refuses cross-site posts, JSON, huge tokens and open redirects", async () => {
  const t = await testApp({ config: { accessToken: TOKEN } });
  try {
    const cross = await t.app.request(
      "/login",
      form({ token: TOKEN }, { origin: "http://evil.example" }),
    );
    assertEquals(cross.status, 403, "login CSRF");
    assertEquals(cross.headers.get("set-cookie"), null);
    await cross.body?.cancel();
    const asJson = await t.app.request("/login", json("POST", { token: TOKEN }));
    assertEquals(asJson.status, 415);
    await asJson.body?.cancel();
    const long = await t.app.request("/login", form({ token: "x".repeat(5000) }));
    assertEquals(long.status, 400);
    assertEquals((await long.json()).error.kind, "validation");
    for (const next of ["//evil.example/", "https://evil.example", "/\\evil.example"]) {
      const res = await t.app.request("/login", form({ token: TOKEN, next }));
      assertEquals(res.status, 303);
      assertEquals(res.headers.get("location"), "/", next);
    }
  } finally {
    t.close();
  }
});

Deno.test("the cookie is Secure behind https and for https URLs", async () => {
  const t = await testApp({ config: { accessToken: TOKEN } });
  try {
    const proxied = await t.app.request(
      "/login",
      form({ token: TOKEN }, { "x-forwarded-proto": "https" }),
    );
    assert(parseSetCookie(proxied.headers.get("set-cookie") ?? "").attrs.has("secure"));
    const direct = await t.app.request("https://localhost/login", form({ token: TOKEN }));
    assertEquals(direct.status, 303);
    assert(parseSetCookie(direct.headers.get("set-cookie") ?? "").attrs.has("secure"));
  } finally {
    t.close();
  }
});

Deno.test("sign-out clears the cookie; sign-in ends when the token changes or time runs out", async () => {
  let now = Date.UTC(2026, 5, 1);
  const kv = await Deno.openKv(":memory:");
  const a = await testApp({ kv, config: { accessToken: TOKEN }, now: () => now });
  const b = await testApp({ kv, config: { accessToken: `${TOKEN}-rotated` }, now: () => now });
  try {
    const { header } = await signIn(a.app);
    const ok = await a.app.request("/api/settings", { headers: { host: HOST, cookie: header } });
    assertEquals(ok.status, 200);
    await ok.body?.cancel();

    const rotated = await b.app.request("/api/settings", {
      headers: { host: HOST, cookie: header },
    });
    assertEquals(rotated.status, 401, "a new token invalidates old sessions");
    await rotated.body?.cancel();

    const otherPort = await a.app.request("/api/settings", {
      headers: { host: "127.0.0.1:5001", cookie: header },
    });
    assertEquals(otherPort.status, 401, "another instance's cookie name does not count");
    await otherPort.body?.cancel();

    const out = await a.app.request("/logout", {
      method: "POST",
      headers: { host: HOST, cookie: header },
    });
    assertEquals(out.status, 303);
    assertEquals(out.headers.get("location"), "/login");
    const cleared = parseSetCookie(out.headers.get("set-cookie") ?? "");
    assertEquals(cleared.name, COOKIE_NAME);
    assertEquals(cleared.attrs.get("max-age"), "0");

    const crossOut = await a.app.request("/logout", {
      method: "POST",
      headers: { host: HOST, cookie: header, "sec-fetch-site": "cross-site" },
    });
    assertEquals(crossOut.status, 403, "logout CSRF");
    await crossOut.body?.cancel();

    now += (SESSION_TTL_SECONDS + 1) * 1000;
    const expired = await a.app.request("/settings", { headers: { host: HOST, cookie: header } });
    assertEquals(expired.status, 303, "an expired session goes back to the sign-in form");
    await expired.body?.cancel();
  } finally {
    b.shutdown.abort();
    a.close(); // closes the shared KV too
  }
});

Deno.test("without a token the API is open and /login just goes home", async () => {
  const t = await testApp();
  try {
    const api = await t.app.request("/api/settings");
    assertEquals(api.status, 200);
    await api.body?.cancel();
    const login = await t.app.request("/login?next=%2Fsettings");
    assertEquals(login.status, 303);
    assertEquals(login.headers.get("location"), "/settings");
    const post = await t.app.request("/login", form({ token: "anything" }));
    assertEquals(post.status, 303);
    assertEquals(post.headers.get("set-cookie"), null);
  } finally {
    t.close();
  }
});
