/**
 * The front door on the real app: DNS-rebinding host check, cross-site refusal, JSON-only
 * state-changing API calls, body caps and secure headers, checked on every registered route
 * (read from `app.routes`, so routes added later are covered without editing this file).
 */
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { json, serve, testApp } from "../helpers.ts";
import { bodyLimitFor, isUploadPath } from "../../lib/http/security.ts";
import { CSP } from "../../routes/security.ts";
import { rawRequest } from "./raw_http.ts";
import { concretePaths, isApiPattern } from "./routes.ts";

type ErrorBody = { error: { kind: string; message: string } };

const STATE_CHANGING = ["POST", "PUT", "PATCH", "DELETE"];

/** The refusal's kind: the API's `kind`, or under /v1 the `code` of OpenAI's error format. */
async function errorOf(res: Response): Promise<ErrorBody["error"]> {
  assertStringIncludes(res.headers.get("content-type") ?? "", "application/json");
  const body = await res.json() as ErrorBody;
  if ("type" in body.error) {
    const e = body.error as unknown as Record<string, unknown>;
    assertEquals(Object.keys(e), ["message", "type", "code", "param"]);
    body.error.kind = String(e.code);
  }
  assertEquals(typeof body.error.kind, "string");
  assertEquals(typeof body.error.message, "string");
  return body.error;
}

async function temperature(app: { request: (p: string) => Response | Promise<Response> }) {
  const body = await (await app.request("/api/settings")).json();
  return body.settings["llm.temperature"].value as number;
}

Deno.test("every route, page or API, answers 403 forbidden to a foreign Host", async () => {
  const t = await testApp();
  try {
    const paths = concretePaths(t.app);
    assert(paths.length >= 5, "the route table was read");
    for (const { method, path } of paths) {
      for (const host of ["evil.example", "evil.example:5000", "0.0.0.0:5000", "127.1:5000"]) {
        const res = await t.app.request(path, { method, headers: { host } });
        assertEquals(res.status, 403, `${method} ${path} Host ${host}`);
        const err = await errorOf(res);
        assertEquals(err.kind, "forbidden");
        assertStringIncludes(err.message, "--allowed-hosts");
      }
      // No Host header: the URL's authority is what was addressed.
      const res = await t.app.request(`http://rebind.example:5000${path}`, { method });
      assertEquals(res.status, 403, `${method} http://rebind.example:5000${path}`);
      await res.body?.cancel();
    }
    // Unknown paths too: the check runs before routing.
    const res = await t.app.request("/no/such/page", { headers: { host: "evil.example" } });
    assertEquals(res.status, 403);
    await res.body?.cancel();
  } finally {
    t.close();
  }
});

Deno.test("loopback names on any port, --allowed-hosts and a specific bound address get through", async () => {
  const t = await testApp({
    config: { allowedHosts: ["studio.lan", ".example.com"], host: "192.168.7.7" },
  });
  try {
    for (
      const host of [
        "localhost:1",
        "127.0.0.2:65535",
        "[::1]:5000",
        "app.localhost",
        "studio.lan:8080",
        "x.example.com",
        "192.168.7.7:5000",
      ]
    ) {
      const res = await t.app.request("/api/health", { headers: { host } });
      assertEquals(res.status, 200, host);
      await res.body?.cancel();
    }
    const res = await t.app.request("/api/health", { headers: { host: "192.168.7.8:5000" } });
    assertEquals(res.status, 403);
    await res.body?.cancel();
  } finally {
    t.close();
  }
});

Deno.test("a real socket refuses a rebound Host and serves the loopback one", async () => {
  const t = await testApp();
  const s = serve(t.app);
  try {
    const port = s.server.addr.port;
    const bad = await rawRequest(
      port,
      "GET /settings HTTP/1.1\r\nHost: attacker.example:5000\r\nConnection: close\r\n\r\n",
    );
    assertEquals(bad.status, 403);
    assertEquals(JSON.parse(bad.body).error.kind, "forbidden");
    const local = await rawRequest(
      port,
      `GET /settings HTTP/1.1\r\nHost: localhost:${port}\r\nConnection: close\r\n\r\n`,
    );
    assertEquals(local.status, 200);
    const good = await fetch(`${s.url}/settings`);
    assertEquals(good.status, 200);
    await good.body?.cancel();
  } finally {
    await s.close();
    t.close();
  }
});

Deno.test("cross-site state-changing requests get 403 on every route and change nothing", async () => {
  const t = await testApp();
  try {
    const before = await temperature(t.app);
    const cases: Record<string, string>[] = [
      { origin: "http://evil.example" },
      { origin: "http://localhost:5001" }, // same site, another program
      { origin: "null" },
      { "sec-fetch-site": "cross-site" },
      { "sec-fetch-site": "same-site", origin: "http://127.0.0.1:5001" },
    ];
    const paths = concretePaths(t.app);
    for (const { path, method: routeMethod } of paths) {
      const methods = STATE_CHANGING.includes(routeMethod) ? [routeMethod] : STATE_CHANGING;
      for (const method of methods) {
        for (const headers of cases) {
          const res = await t.app.request(path, {
            method,
            headers: { host: "127.0.0.1:5000", "content-type": "application/json", ...headers },
            body: JSON.stringify({ "llm.temperature": 1.5 }),
          });
          assertEquals(res.status, 403, `${method} ${path} ${JSON.stringify(headers)}`);
          const err = await errorOf(res);
          assertEquals(err.kind, "forbidden");
          assertStringIncludes(err.message, "Cross-site");
        }
      }
    }
    assertEquals(await temperature(t.app), before);
  } finally {
    t.close();
  }
});

Deno.test("same-origin browsers and clients without Origin (curl, SDKs) may change state", async () => {
  const t = await testApp();
  try {
    const ok: Record<string, string>[] = [
      {},
      { origin: "http://127.0.0.1:5000" },
      { origin: "null", "sec-fetch-site": "same-origin" },
      { origin: "http://127.0.0.1:5000", "sec-fetch-site": "same-origin" },
    ];
    let value = 0.1;
    for (const headers of ok) {
      value += 0.1;
      const res = await t.app.request(
        "/api/settings",
        json("PATCH", { "llm.temperature": value }, { host: "127.0.0.1:5000", ...headers }),
      );
      assertEquals(res.status, 200, JSON.stringify(headers));
      await res.body?.cancel();
      assertEquals(await temperature(t.app), value);
    }
    const del = await t.app.request("/api/settings/llm.temperature", { method: "DELETE" });
    assertEquals(del.status, 200, "DELETE without a body or content type passes");
    await del.body?.cancel();
  } finally {
    t.close();
  }
});

Deno.test("simple-form content types are refused (415) on every state-changing API route", async () => {
  const t = await testApp();
  try {
    const before = await temperature(t.app);
    const bodies: [string, string][] = [
      ["text/plain", '{"llm.temperature":1.9}'],
      ["text/plain;charset=UTF-8", '{"llm.temperature":1.9}'],
      ["application/x-www-form-urlencoded", "llm.temperature=1.9"],
      [
        "multipart/form-data; boundary=b",
        '--b\r\nContent-Disposition: form-data; name="llm.temperature"\r\n\r\n1.9\r\n--b--\r\n',
      ],
    ];
    const api = concretePaths(t.app).filter((p) => isApiPattern(p.pattern));
    const targets = api.flatMap((p) =>
      STATE_CHANGING.includes(p.method) ? [p] : STATE_CHANGING.map((method) => ({ ...p, method }))
    );
    assert(targets.some((p) => p.method === "PATCH" && p.path === "/api/settings"));
    for (const { method, path } of targets) {
      for (const [type, body] of bodies) {
        // The Library's upload route takes multipart files (still behind the cross-site check).
        if (type.startsWith("multipart/") && method === "POST" && isUploadPath(path)) continue;
        const res = await t.app.request(path, { method, headers: { "content-type": type }, body });
        assertEquals(res.status, 415, `${method} ${path} ${type}`);
        assertEquals((await errorOf(res)).kind, "unsupported_media_type");
      }
    }
    assertEquals(await temperature(t.app), before);
  } finally {
    t.close();
  }
});

Deno.test("bodies over the cap get 413 on every route, declared or streamed", async () => {
  const t = await testApp();
  try {
    for (const { path, method: routeMethod } of concretePaths(t.app)) {
      const method = routeMethod === "GET" || routeMethod === "ALL" ? "POST" : routeMethod;
      const limit = bodyLimitFor(new URL(path, "http://x").pathname);
      const declared = await t.app.request(path, {
        method,
        headers: { "content-type": "application/json" },
        body: new Uint8Array(limit + 1).fill(0x20),
      });
      assertEquals(declared.status, 413, `${method} ${path} (Content-Length)`);
      assertEquals((await errorOf(declared)).kind, "payload_too_large");
      const streamed = await t.app.request(path, {
        method,
        headers: { "content-type": "application/json" },
        body: new ReadableStream({
          start(c) {
            for (let sent = 0; sent <= limit; sent += 16 * 1024) {
              c.enqueue(new Uint8Array(16 * 1024).fill(0x20));
            }
            c.close();
          },
        }),
      });
      assertEquals(streamed.status, 413, `${method} ${path} (chunked)`);
      assertEquals((await errorOf(streamed)).kind, "payload_too_large");
    }
  } finally {
    t.close();
  }
});

Deno.test("a GET that declares a huge body over a real socket gets 413", async () => {
  const t = await testApp();
  const s = serve(t.app);
  try {
    const head = "GET /api/settings HTTP/1.1\r\nHost: localhost\r\nContent-Length: 70000\r\n" +
      "Connection: close\r\n\r\n";
    const res = await rawRequest(s.server.addr.port, head + " ".repeat(70000));
    assertEquals(res.status, 413);
    assertEquals(JSON.parse(res.body).error.kind, "payload_too_large");
  } finally {
    await s.close();
    t.close();
  }
});

Deno.test("the /v1 gateway prefix allows large chat bodies but still caps them", async () => {
  const t = await testApp();
  try {
    const medium = await t.app.request("/v1/chat/completions", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: new Uint8Array(200 * 1024).fill(0x20),
    });
    assert(medium.status !== 413, `200 KiB to /v1 got ${medium.status}`);
    await medium.body?.cancel();
    const huge = await t.app.request("/v1/chat/completions", {
      method: "POST",
      headers: { "content-type": "application/json", "content-length": String(9 * 1024 * 1024) },
      body: "{}",
    });
    assertEquals(huge.status, 413);
    await huge.body?.cancel();
  } finally {
    t.close();
  }
});

function assertSecureHeaders(res: Response, what: string) {
  assertEquals(res.headers.get("content-security-policy"), CSP, what);
  assertEquals(res.headers.get("x-content-type-options"), "nosniff", what);
  assertEquals(res.headers.get("referrer-policy"), "no-referrer", what);
  assertEquals(res.headers.get("x-frame-options"), "DENY", what);
  assertEquals(res.headers.get("x-powered-by"), null, what);
  assertEquals(res.headers.get("access-control-allow-origin"), null, what);
}

Deno.test("every response carries the secure headers; API responses are no-store", async () => {
  const t = await testApp();
  try {
    assertEquals(
      CSP,
      "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    );
    const requests: [string, RequestInit][] = [
      ...concretePaths(t.app).map((p): [string, RequestInit] => [
        p.path,
        p.method === "GET" ? {} : json(p.method, {}),
      ]),
      ["/api/nope", {}],
      ["/nope", {}],
      ["/api/settings", { method: "PUT" }],
      ["/api/settings", { headers: { host: "evil.example" } }],
      ["/api/settings", json("PATCH", "{not json")],
      ["/api/settings", { method: "PATCH", headers: { "content-type": "text/plain" }, body: "x" }],
      ["/api/settings", { method: "PATCH", headers: { origin: "http://evil.example" } }],
      ["/api/settings", { ...json("PATCH", {}), body: new Uint8Array(70_000) }],
    ];
    for (const [path, init] of requests) {
      const res = await t.app.request(path, { ...init, headers: { ...init.headers } });
      const what = `${init.method ?? "GET"} ${path} → ${res.status}`;
      assertSecureHeaders(res, what);
      if (path.startsWith("/api/")) {
        assertEquals(res.headers.get("cache-control"), "no-store", what);
      }
      if (path.startsWith("/static/") && res.status === 200) {
        assertStringIncludes(res.headers.get("cache-control") ?? "", "immutable");
      }
      await res.body?.cancel();
    }
    // A cross-origin preflight learns nothing that would let a page read or write the API.
    const pre = await t.app.request("/api/settings", {
      method: "OPTIONS",
      headers: { origin: "http://evil.example", "access-control-request-method": "PATCH" },
    });
    assert(pre.status >= 400, `preflight got ${pre.status}`);
    assertSecureHeaders(pre, "preflight");
    await pre.body?.cancel();
  } finally {
    t.close();
  }
});

Deno.test("responses with immutable headers (fetch, Response.redirect) still get the headers", async () => {
  const t = await testApp();
  try {
    t.app.get("/api/zz-redirect", () => Response.redirect("http://localhost/elsewhere", 302));
    t.app.get("/zz-powered", (c) => c.text("x", 200, { "x-powered-by": "PHP/5" }));
    const res = await t.app.request("/api/zz-redirect");
    assertEquals(res.status, 302);
    assertSecureHeaders(res, "redirect");
    assertEquals(res.headers.get("cache-control"), "no-store");
    const powered = await t.app.request("/zz-powered");
    assertSecureHeaders(powered, "x-powered-by removed");
    await powered.body?.cancel();
  } finally {
    t.close();
  }
});
