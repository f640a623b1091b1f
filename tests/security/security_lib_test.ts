import { assert, assertEquals, assertNotEquals } from "../assert.ts";
import {
  bearerToken,
  bodyLimitFor,
  crossSiteReason,
  isAllowedHost,
  isJsonContentType,
  isLoopbackName,
  parseHost,
  safeNextPath,
  SESSION_TTL_SECONDS,
  sessionCookieName,
  sessionCookieValue,
  tokensEqual,
  verifySessionCookie,
} from "../../lib/http/security.ts";

const LOCAL = { allowedHosts: [], boundHost: "127.0.0.1" };

Deno.test("loopback Host values pass the rebinding check whatever their port", () => {
  for (
    const host of [
      "localhost",
      "localhost:5000",
      "LOCALHOST:1",
      "localhost.:5000",
      "deepstudio.localhost:8080",
      "127.0.0.1",
      "127.0.0.1:65535",
      "127.255.3.4:5000",
      "[::1]",
      "[::1]:5000",
      "[0:0:0:0:0:0:0:1]:5000",
      "[::ffff:127.0.0.1]:5000",
      "localhost:",
    ]
  ) assert(isAllowedHost(host, LOCAL), host);
});

Deno.test("other Host values are refused, including look-alikes and parser tricks", () => {
  for (
    const host of [
      "evil.example",
      "evil.example:5000",
      "localhost.evil.example",
      "localhostx",
      "127.0.0.1.evil.example",
      "0.0.0.0:5000",
      "[::]:5000",
      "192.168.1.5:5000",
      "127.1",
      "0x7f.0.0.1",
      "0177.0.0.1",
      "2130706433",
      "127.000.000.001",
      "128.0.0.1",
      "evil.example@localhost",
      "localhost@evil.example",
      "localhost/evil",
      "localhost:5000:6000",
      "localhost :5000",
      "local host",
      "localhost:abc",
      "[::1",
      "[::2]:5000",
      "[::ffff:10.0.0.1]",
      "",
      " ",
      "lоcalhost", // Cyrillic o
      "localhost\u0000",
    ]
  ) assert(!isAllowedHost(host, LOCAL), JSON.stringify(host));
});

Deno.test("--allowed-hosts entries and a specific bound address are accepted, wildcards are not", () => {
  const policy = {
    allowedHosts: ["studio.lan", ".example.com", "[fd00::1]", "Box.Local:5000"],
    boundHost: "0.0.0.0",
  };
  for (
    const host of [
      "studio.lan",
      "STUDIO.LAN:9",
      "example.com",
      "a.b.example.com:443",
      "[fd00::1]:5000",
      "box.local",
    ]
  ) assert(isAllowedHost(host, policy), host);
  for (const host of ["studio.lan.evil", "notexample.com", "0.0.0.0:5000", "evilexample.com"]) {
    assert(!isAllowedHost(host, policy), host);
  }
  assert(isAllowedHost("192.168.1.5:5000", { allowedHosts: [], boundHost: "192.168.1.5" }));
  assert(!isAllowedHost("192.168.1.6:5000", { allowedHosts: [], boundHost: "192.168.1.5" }));
  assert(!isAllowedHost("[::]:5000", { allowedHosts: [], boundHost: "::" }));
});

Deno.test("parseHost canonicalises IPv6 and strips the final dot", () => {
  assertEquals(parseHost("[0:0::1]:80"), { hostname: "::1", port: "80" });
  assertEquals(parseHost("Example.COM.:8"), { hostname: "example.com", port: "8" });
  assertEquals(parseHost("a b"), null);
});

Deno.test("isLoopbackName covers the loopback ranges only", () => {
  assert(isLoopbackName("127.9.9.9"));
  assert(isLoopbackName("[::1]"));
  assert(!isLoopbackName("10.0.0.1"));
  assert(!isLoopbackName("0.0.0.0"));
  assert(!isLoopbackName("localhost.example"));
});

const SITE = { host: "127.0.0.1:5000", origin: null, secFetchSite: null };

Deno.test("state-changing requests from our own origin or without Origin pass", () => {
  for (const method of ["POST", "PATCH", "PUT", "DELETE", "PROPFIND", "patch"]) {
    assertEquals(crossSiteReason({ ...SITE, method }), null, method);
    assertEquals(
      crossSiteReason({ ...SITE, method, origin: "http://127.0.0.1:5000" }),
      null,
      method,
    );
    assertEquals(
      crossSiteReason({ ...SITE, method, origin: "null", secFetchSite: "same-origin" }),
      null,
    );
  }
  assertEquals(
    crossSiteReason({
      method: "POST",
      host: "studio.example",
      origin: "https://studio.example",
      secFetchSite: "same-origin",
    }),
    null,
  );
  assertEquals(
    crossSiteReason({
      method: "POST",
      host: "localhost",
      origin: "http://localhost:80",
      secFetchSite: null,
    }),
    null,
  );
  assertEquals(crossSiteReason({ ...SITE, method: "POST", secFetchSite: "none" }), null);
});

Deno.test("cross-site and same-site state-changing requests are refused; reads are not", () => {
  const bad = [
    { origin: "http://evil.example" },
    { origin: "http://127.0.0.1:5001" },
    { origin: "http://localhost:5000" },
    { origin: "http://127.0.0.1" },
    { origin: "null" },
    { origin: "null", secFetchSite: "cross-site" },
    { origin: "file://" },
    { origin: "not a url" },
    { secFetchSite: "cross-site" },
    { secFetchSite: "same-site" },
    { secFetchSite: "weird" },
    { origin: "http://127.0.0.1:5000", secFetchSite: "cross-site" },
    { origin: "http://127.0.0.1:5000.evil.example" },
  ];
  for (const b of bad) {
    for (const method of ["POST", "PATCH", "PUT", "DELETE"]) {
      const reason = crossSiteReason({ ...SITE, ...b, method });
      assertNotEquals(reason, null, `${method} ${JSON.stringify(b)}`);
    }
    for (const method of ["GET", "HEAD", "OPTIONS"]) {
      assertEquals(crossSiteReason({ ...SITE, ...b, method }), null);
    }
  }
});

Deno.test("tokens compare by value, in constant time over digests, and never match empty", () => {
  const token = "correct horse battery staple";
  assert(tokensEqual(token, token));
  assert(!tokensEqual(`${token} `, token));
  assert(!tokensEqual("", token));
  assert(!tokensEqual("", ""));
  assert(!tokensEqual(token.slice(0, -1), token));
  assert(!tokensEqual("x".repeat(100_000), token));
});

Deno.test("bearerToken reads only well-formed bearer credentials", () => {
  assertEquals(bearerToken(null), null);
  assertEquals(bearerToken("Bearer abc"), "abc");
  assertEquals(bearerToken("bearer   abc "), "abc");
  assertEquals(bearerToken("Basic abc"), "");
  assertEquals(bearerToken("Bearer a b"), "");
  assertEquals(bearerToken("Bearer"), "");
});

Deno.test("the session cookie proves the token without containing it, expires, and rotates", () => {
  const token = "s3cret-token-0123456789";
  const now = Date.UTC(2026, 0, 1);
  const value = sessionCookieValue(token, now);
  assert(!value.includes(token));
  assert(!value.includes(btoa(token)));
  assert(verifySessionCookie(token, value, now));
  assert(verifySessionCookie(token, value, now + (SESSION_TTL_SECONDS - 1) * 1000));
  assert(!verifySessionCookie(token, value, now + SESSION_TTL_SECONDS * 1000), "expired");
  assert(!verifySessionCookie(`${token}x`, value, now), "token changed");
  assert(!verifySessionCookie(token, token, now));
  assert(!verifySessionCookie("", value, now));
  // A forged expiry (extending the session) breaks the MAC.
  const [, exp, mac] = value.split(".");
  assert(!verifySessionCookie(token, `v1.${Number(exp) + 1}.${mac}`, now));
  const flipped = mac[0] === "A" ? `B${mac.slice(1)}` : `A${mac.slice(1)}`;
  assert(!verifySessionCookie(token, `v1.${exp}.${flipped}`, now));
  // An expiry beyond the longest session is refused even with a valid MAC (clock went back).
  const future = sessionCookieValue(token, now + 2 * SESSION_TTL_SECONDS * 1000);
  assert(!verifySessionCookie(token, future, now));
  for (const junk of ["", "v1", "v1..", "v1.x.y", `v2.${exp}.${mac}`, `v1.${exp}.${mac}=`]) {
    assert(!verifySessionCookie(token, junk, now), junk);
  }
});

Deno.test("session cookie names differ per port so two instances do not collide", () => {
  assertEquals(sessionCookieName("localhost:5000"), "deepstudio_session_5000");
  assertEquals(sessionCookieName("studio.example"), "deepstudio_session");
  assertNotEquals(sessionCookieName("127.0.0.1:5000"), sessionCookieName("127.0.0.1:5001"));
});

Deno.test("safeNextPath allows local paths only (no open redirect)", () => {
  assertEquals(safeNextPath("/settings?x=1"), "/settings?x=1");
  for (
    const bad of [
      null,
      undefined,
      "",
      "settings",
      "//evil.example",
      "/\\evil.example",
      "https://evil.example",
      "javascript:alert(1)",
      "/ok\n",
      "/\\/x",
      "/login",
      "/login?next=/x",
      "/logout",
    ]
  ) assertEquals(safeNextPath(bad), "/", String(bad));
});

Deno.test("JSON content types and body caps", () => {
  for (const t of ["application/json", "application/json; charset=utf-8", "APPLICATION/JSON"]) {
    assert(isJsonContentType(t), t);
  }
  assert(isJsonContentType("application/merge-patch+json"));
  for (
    const t of [
      null,
      "",
      "text/plain",
      "application/x-www-form-urlencoded",
      "multipart/form-data; boundary=x",
      "text/json+json",
      "application/jsonx",
    ]
  ) assert(!isJsonContentType(t), String(t));
  assertEquals(bodyLimitFor("/api/settings"), 64 * 1024);
  assert(bodyLimitFor("/v1/chat/completions") > 64 * 1024);
});
