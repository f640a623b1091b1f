/**
 * deepstudio in a container, pointed at a loopback URL nothing answers: the container advice is
 * shown once per page, worded for the provider in use (llama-server's --host, not LM Studio's
 * "Serve on Local Network"), on the Research page and the Status page alike.
 */
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { json, serve, testApp } from "../helpers.ts";
import { HAVE_CHROMIUM, launchBrowser } from "./browser.ts";
import { deadPort, hydrated } from "./stack.ts";

Deno.test({
  name: "in a container, the loopback advice is worded for the provider in use",
  ignore: !HAVE_CHROMIUM,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const t = await testApp({ config: { inContainer: true } });
    const dead = `http://127.0.0.1:${deadPort()}`;
    const res = await t.app.request(
      "/api/settings",
      json("PATCH", { "llm.provider": "llamacpp", "llm.llamacpp.url": dead }),
    );
    assertEquals(res.status, 200, await res.text());
    const server = serve(t.app);
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage();
      await page.goto(`${server.url}/`);
      await hydrated(page);
      const hint = (await (await page.waitForSelector(".llm .notice.warn")).textContent())!;
      assertStringIncludes(hint, "host.docker.internal");
      assertStringIncludes(hint, "--host 0.0.0.0");
      assert(!hint.includes("LM Studio"), hint);

      await page.goto(`${server.url}/status`);
      const checklist = (await page.textContent("#provider-llamacpp .checklist"))!;
      assertStringIncludes(checklist, "--host 0.0.0.0");
      assert(!checklist.includes("Serve on Local Network"), checklist);
    } finally {
      await browser.close();
      await server.close();
      t.close();
    }
  },
});
