/**
 * Guessing the access token is throttled per client address: a few wrong tokens are free, then each
 * one doubles the wait, and tries inside the wait get 429 with `retry-after` without the token being
 * checked. The log gets one line per escalation, not one per attempt.
 */
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { serve, testApp } from "../helpers.ts";
import {
  BASE_WAIT_MS,
  createSignInThrottle,
  FREE_FAILURES,
  MAX_WAIT_MS,
  waitAfter,
} from "../../lib/http/throttle.ts";

const TOKEN = "tok-throttle-3c9a51e2b7d4";

async function rig() {
  let clock = 1_000_000;
  const logs: string[] = [];
  const t = await testApp({
    config: { accessToken: TOKEN },
    now: () => clock,
    log: (m) => logs.push(m),
  });
  const s = serve(t.app);
  const login = async (token: string) => {
    const res = await fetch(`${s.url}/login`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ token, next: "/settings" }),
      redirect: "manual",
    });
    const body = await res.text();
    return { status: res.status, retryAfter: res.headers.get("retry-after"), body };
  };
  return {
    url: s.url,
    logs,
    login,
    advance: (ms: number) => (clock += ms),
    async close() {
      await s.close();
      t.close();
    },
  };
}

Deno.test("200 wrong sign-ins: a few 401s, then 429 with retry-after, and one log line", async () => {
  const r = await rig();
  try {
    const statuses: number[] = [];
    let last = { status: 0, retryAfter: null as string | null, body: "" };
    for (let i = 0; i < 200; i++) {
      last = await r.login(`wrong-${i}`);
      statuses.push(last.status);
    }
    assertEquals(statuses.slice(0, FREE_FAILURES), Array(FREE_FAILURES).fill(401));
    assertEquals(statuses.slice(FREE_FAILURES), Array(200 - FREE_FAILURES).fill(429));
    assertEquals(last.retryAfter, String(BASE_WAIT_MS / 1000));
    assertStringIncludes(last.body, "try again in 1 s");
    assertEquals(r.logs.length, 1, r.logs.join("\n"));
    assertStringIncludes(r.logs[0], "3 wrong access tokens in a row from 127.0.0.1");
    assert(!r.logs[0].includes("wrong-"), "the guesses are never logged");

    // Even the right token waits: a throttled address learns nothing.
    assertEquals((await r.login(TOKEN)).status, 429);

    // After the wait one more try; wrong again doubles the wait.
    r.advance(BASE_WAIT_MS);
    assertEquals((await r.login("wrong-again")).status, 401);
    const next = await r.login("wrong-again");
    assertEquals([next.status, next.retryAfter], [429, String((2 * BASE_WAIT_MS) / 1000)]);
    assertEquals(r.logs.length, 2);
    assertStringIncludes(r.logs[1], "198 more attempt(s) refused while it waited");

    // The right token after the wait signs in and starts the address afresh.
    r.advance(2 * BASE_WAIT_MS);
    assertEquals((await r.login(TOKEN)).status, 303);
    for (let i = 0; i < FREE_FAILURES - 1; i++) assertEquals((await r.login("typo")).status, 401);
  } finally {
    await r.close();
  }
});

Deno.test("wrong bearer tokens on the API are throttled the same way", async () => {
  const r = await rig();
  try {
    const call = async (token: string) => {
      const res = await fetch(`${r.url}/api/settings`, {
        headers: { authorization: `Bearer ${token}` },
      });
      const body = await res.json();
      return { status: res.status, retryAfter: res.headers.get("retry-after"), body };
    };
    for (let i = 0; i < FREE_FAILURES; i++) assertEquals((await call(`guess-${i}`)).status, 401);
    const refused = await call("guess-x");
    assertEquals(refused.status, 429);
    assertEquals(refused.body.error.kind, "too_many_requests");
    assertEquals(refused.retryAfter, "1");
    assertEquals((await call(TOKEN)).status, 429, "the right token waits too");
    r.advance(BASE_WAIT_MS);
    assertEquals((await call(TOKEN)).status, 200);
    // Requests without a token are not guesses and are never throttled.
    for (let i = 0; i < 10; i++) {
      const res = await fetch(`${r.url}/api/settings`);
      await res.body?.cancel();
      assertEquals(res.status, 401);
    }
  } finally {
    await r.close();
  }
});

Deno.test("the throttle is per address, doubles up to its cap and forgets after an hour", () => {
  let t = 0;
  const logs: string[] = [];
  const throttle = createSignInThrottle(() => t, (m) => logs.push(m));
  for (let i = 0; i < FREE_FAILURES; i++) throttle.failed("10.0.0.1");
  assertEquals(throttle.check("10.0.0.1").ok, false);
  assertEquals(throttle.check("10.0.0.2").ok, true, "another address is unaffected");
  assertEquals(waitAfter(FREE_FAILURES - 1), 0);
  assertEquals(waitAfter(FREE_FAILURES + 2), 4 * BASE_WAIT_MS);
  assertEquals(waitAfter(1000), MAX_WAIT_MS);
  t += 61 * 60_000;
  assertEquals(throttle.check("10.0.0.1").ok, true);
  throttle.failed("10.0.0.1");
  assertEquals(throttle.check("10.0.0.1").ok, true, "forgotten: the count starts again");
});
