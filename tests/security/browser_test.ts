/**
 * The security features in a real Chromium: the strict CSP lets the settings island hydrate and
 * save (no violation reported) while really blocking inline script; pages on other origins cannot
 * change state; a DNS-rebound name gets 403; the sign-in form works without JavaScript and its
 * cookie is invisible to scripts.
 */
import type { Page } from "playwright-core";
import { assert, assertEquals } from "../assert.ts";
import { testApp } from "../helpers.ts";
import { HAVE_CHROMIUM, launchBrowser } from "../e2e/browser.ts";
import { startFakeLmStudio } from "../fakes/lmstudio.ts";
import type { Hono } from "hono";

interface Seen {
  method: string;
  path: string;
  status: number;
  origin: string | null;
  site: string | null;
}

/** Serves `app` on port 0, recording what each request carried and how it was answered. */
function serveRecording(app: Hono) {
  const seen: Seen[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const res = await app.fetch(req);
    seen.push({
      method: req.method,
      path: new URL(req.url).pathname,
      status: res.status,
      origin: req.headers.get("origin"),
      site: req.headers.get("sec-fetch-site"),
    });
    return res;
  });
  const port = server.addr.port;
  return { seen, port, url: `http://127.0.0.1:${port}`, close: () => server.shutdown() };
}

/** Collects CSP violations (DOM events, registered before any page script) and console errors. */
async function watchCsp(page: Page) {
  const console: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error" || /Content Security Policy/i.test(m.text())) console.push(m.text());
  });
  page.on("pageerror", (e) => console.push(String(e)));
  await page.addInitScript(() => {
    const w = window as unknown as { __csp: string[] };
    w.__csp = [];
    document.addEventListener("securitypolicyviolation", (e) => {
      w.__csp.push(`${e.effectiveDirective} ${e.blockedURI}`);
    });
  });
  return {
    console,
    violations: () => page.evaluate(() => (window as unknown as { __csp: string[] }).__csp),
  };
}

const browserTest = (name: string, fn: () => Promise<void>) =>
  Deno.test({ name, ignore: !HAVE_CHROMIUM, sanitizeResources: false, sanitizeOps: false, fn });

browserTest(
  "the settings page hydrates and saves under the strict CSP with no violation",
  async () => {
    // The page asks the provider for its models: a running (fake) LM Studio keeps the console
    // free of the 502 a missing one would rightly cause, so only CSP trouble shows there.
    const lm = await startFakeLmStudio();
    const t = await testApp({ env: { LDR_LLM_LMSTUDIO_URL: lm.url } });
    const s = serveRecording(t.app);
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage();
      const csp = await watchCsp(page);
      const res = await page.goto(`${s.url}/settings`);
      assert(res);
      assert((await res.headerValue("content-security-policy"))?.includes("script-src 'self'"));
      await page.waitForSelector('ds-island[data-hydrated="1"]');
      await page.fill("#setting-llm-temperature", "1.1");
      await page.click("button[type=submit]");
      await page.waitForSelector("[role=status].ok");
      const patch = s.seen.find((r) => r.method === "PATCH");
      assert(patch, "the form sent a PATCH");
      assertEquals(patch.status, 200);
      assertEquals(patch.site, "same-origin");
      console.log(`  browser PATCH carried Origin: ${patch.origin}, Sec-Fetch-Site: ${patch.site}`);
      assertEquals(await csp.violations(), []);
      assertEquals(csp.console, []);

      // The policy is really enforced: an injected inline script is blocked and reported.
      await page.evaluate(() => {
        const el = document.createElement("script");
        el.textContent = "window.__inline = 1";
        document.body.append(el);
      });
      await page.waitForFunction(() => (window as unknown as { __csp: string[] }).__csp.length > 0);
      assertEquals(
        await page.evaluate(() => (window as unknown as { __inline?: number }).__inline),
        undefined,
      );
      assert((await csp.violations())[0].startsWith("script-src"));
    } finally {
      await browser.close();
      await s.close();
      t.close();
      await lm.close();
    }
  },
);

browserTest("pages on other origins cannot change state, even same-site ones", async () => {
  const t = await testApp({ config: { accessToken: "browser-csrf-token-0123" } });
  const target = serveRecording(t.app);
  const attackerPage = (action: string) =>
    `<!doctype html><body>
      <form id="f" method="post" action="${action}/api/settings" enctype="text/plain">
        <input name='{"llm.temperature":1.9,"x":"' value='"}'>
      </form>
      <form id="l" method="post" action="${action}/login">
        <input name="token" value="browser-csrf-token-0123">
      </form>
      <script>
        fetch("${action}/api/settings", { method: "POST", mode: "no-cors",
          headers: { "content-type": "text/plain" }, body: '{"llm.temperature":1.9}' })
          .finally(() => fetch("${action}/logout", { method: "POST", mode: "no-cors" }))
          .finally(() => { document.title = "sent"; });
      </script></body>`;
  const attacker = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (req) =>
      new Response(attackerPage(new URL(req.url).searchParams.get("t") ?? ""), {
        headers: { "content-type": "text/html" },
      }),
  );
  const browser = await launchBrowser();
  try {
    // Cross-site (localhost vs 127.0.0.1) and same-site (127.0.0.1, another port).
    for (const host of ["localhost", "127.0.0.1"]) {
      target.seen.length = 0;
      const page = await browser.newPage();
      await page.goto(`http://${host}:${attacker.addr.port}/?t=${target.url}`);
      await page.waitForFunction(() => document.title === "sent");
      await Promise.all([
        page.waitForEvent("load"),
        page.evaluate(() => {
          (document.getElementById("f") as HTMLFormElement).submit();
        }),
      ]);
      await page.goBack();
      await Promise.all([
        page.waitForEvent("load"),
        page.evaluate(() => {
          (document.getElementById("l") as HTMLFormElement).submit();
        }),
      ]);
      const writes = target.seen.filter((r) => r.method === "POST");
      const paths = new Set(writes.map((w) => w.path));
      assertEquals([...paths].sort(), ["/api/settings", "/login", "/logout"], host);
      assert(writes.length >= 4, `${host}: ${JSON.stringify(target.seen)}`);
      for (const w of writes) {
        assertEquals(w.status, 403, `${host}: ${JSON.stringify(w)}`);
        assertEquals(w.site, host === "localhost" ? "cross-site" : "same-site");
      }
      const cookies = await page.context().cookies(target.url);
      assertEquals(cookies, [], "login CSRF set no cookie");
      await page.close();
    }
    const view = await (await t.app.request("/api/settings", {
      headers: { authorization: "Bearer browser-csrf-token-0123" },
    })).json();
    assertEquals(view.settings["llm.temperature"].value, 0.7);
  } finally {
    await browser.close();
    await attacker.shutdown();
    await target.close();
    t.close();
  }
});

browserTest("a DNS-rebound name gets 403 in the browser, pages and API alike", async () => {
  const t = await testApp();
  const s = serveRecording(t.app);
  const browser = await launchBrowser(["--host-resolver-rules=MAP rebind.test 127.0.0.1"]);
  try {
    const page = await browser.newPage();
    const res = await page.goto(`http://rebind.test:${s.port}/settings`);
    assertEquals(res?.status(), 403);
    assert((await page.content()).includes("DNS-rebinding"));
    const api = await page.evaluate(async () => (await fetch("/api/settings")).status);
    assertEquals(api, 403);
    const local = await page.goto(`${s.url}/settings`);
    assertEquals(local?.status(), 200, "the same server still serves its loopback name");
  } finally {
    await browser.close();
    await s.close();
    t.close();
  }
});

browserTest(
  "the sign-in form works without JavaScript and its cookie is hidden from scripts",
  async () => {
    const token = "browser-login-token-4567";
    const t = await testApp({ config: { accessToken: token } });
    const s = serveRecording(t.app);
    const browser = await launchBrowser();
    try {
      const context = await browser.newContext({ javaScriptEnabled: false });
      const page = await context.newPage();
      await page.goto(`${s.url}/settings`);
      assertEquals(new URL(page.url()).pathname, "/login");
      await page.fill("#token", "wrong-token-wrong-token");
      await page.click("button[type=submit]");
      assert((await page.textContent("[role=alert]"))?.includes("not the access token"));
      await page.fill("#token", token);
      await page.click("button[type=submit]");
      assertEquals(new URL(page.url()).pathname, "/settings");
      const cookies = await context.cookies(s.url);
      assertEquals(cookies.length, 1);
      assertEquals(cookies[0].httpOnly, true);
      assertEquals(cookies[0].sameSite, "Strict");
      assert(!cookies[0].value.includes(token));
      await context.close();

      // With JavaScript: the island hydrates, saves through the cookie, and cannot read it.
      const js = await browser.newContext();
      await js.addCookies(cookies);
      const p2 = await js.newPage();
      const csp = await watchCsp(p2);
      await p2.goto(`${s.url}/settings`);
      await p2.waitForSelector('ds-island[data-hydrated="1"]');
      assertEquals(await p2.evaluate(() => document.cookie), "");
      await p2.fill("#setting-llm-temperature", "0.4");
      await p2.click("button[type=submit]");
      await p2.waitForSelector("[role=status].ok");
      // Sign out through the form on /login, then the API refuses the browser again.
      await p2.goto(`${s.url}/login`);
      await p2.click("button[type=submit]");
      assertEquals(new URL(p2.url()).pathname, "/login");
      const status = await p2.evaluate(async () => (await fetch("/api/settings")).status);
      assertEquals(status, 401);
      assertEquals(await csp.violations(), []);
      await js.close();
    } finally {
      await browser.close();
      await s.close();
      t.close();
    }
  },
);
