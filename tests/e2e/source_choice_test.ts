/**
 * Choosing where a run looks, in real Chromium and by keyboard only: the Research form starts from
 * the `search.engine` and `search.library.collections` settings, lists the Library's collections,
 * lets Tab and Space change engines and collections, refuses a Library run with no collection,
 * and sends exactly the choice as the run's `sources`. A run that ends without sources (none
 * found here: the collection is empty; or no engine chosen) shows the "No sources" badge.
 */
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { json } from "../helpers.ts";
import { startFakeEmbeddings } from "../fakes/embeddings.ts";
import { hydrated, openPage, stackTest, tabTo } from "./stack.ts";

stackTest(
  "Research form: engines and Library collections by keyboard; a sourceless run is labelled",
  { lm: { reply: "Bees are calmed by smoke [1]." } },
  async (stack) => {
    const emb = await startFakeEmbeddings({ dims: 32, family: "llamacpp" });
    try {
      const req = (method: string, path: string, body?: unknown) =>
        stack.app.app.request(path, body === undefined ? { method } : json(method, body));
      const patched = await req("PATCH", "/api/settings", {
        "llm.llamacpp.url": emb.url,
        "search.engine": "library",
        "search.library.collections": "cars",
        // Small answers: the pre-flight check then lets the run start on the fake's 4k context.
        "llm.max_tokens": 256,
      });
      assertEquals(patched.status, 200, await patched.text());
      const ids: Record<string, string> = {};
      for (const name of ["Bees", "Cars"]) {
        const res = await req("POST", "/api/collections", { name, provider: "llamacpp" });
        assertEquals(res.status, 201, await res.clone().text());
        ids[name] = (await res.json()).id;
      }

      const page = await openPage(stack, "/");
      const sent: unknown[] = [];
      page.on("request", (r) => {
        if (r.method() === "POST" && new URL(r.url()).pathname === "/api/research") {
          sent.push(r.postDataJSON());
        }
      });
      // Defaults from the settings: the Library, and of its collections the one named there.
      assert(await page.isChecked("input[name=source-library]"));
      assert(!await page.isChecked("input[name=source-searxng]"));
      const box = (name: string) => `input[name=collection][value="${ids[name]}"]`;
      await page.waitForSelector(box("Bees"));
      assert(await page.isChecked(box("Cars")), "the setting's collection is ticked");
      assert(!await page.isChecked(box("Bees")));

      // Keyboard: untick Cars; with no collection the form refuses to start and says why.
      await page.fill("#query", "What calms bees?");
      await tabTo(page, box("Cars"));
      await page.keyboard.press("Space");
      await page.waitForSelector("#collection-picker [role=alert]");
      assertStringIncludes(
        (await page.textContent("#collection-picker"))!,
        "Tick a collection",
      );
      assert(await page.isDisabled("button[type=submit]"));
      await tabTo(page, box("Bees"));
      await page.keyboard.press("Space");
      assert(await page.isChecked(box("Bees")));
      await tabTo(page, "button[type=submit]");
      await page.keyboard.press("Enter");
      await page.waitForURL(/\/research\/[^/]+$/);
      const last = sent.at(-1) as { sources: unknown };
      assertEquals(last.sources, { engines: ["library"], collections: [ids.Bees] });
      const id = new URL(page.url()).pathname.split("/").pop()!;
      const run = await (await req("GET", `/api/research/${id}`)).json();
      assertEquals(run.run.sources.collections, [ids.Bees]);

      // The collection has no documents: nothing found, the model answers alone, labelled.
      await hydrated(page);
      await page.waitForSelector(".run-status .badge.completed");
      await page.waitForSelector(".no-sources .no-sources-badge");
      assertStringIncludes((await page.textContent(".no-sources"))!, "No sources were found");
      const exp = await (await req("GET", `/api/research/${id}/export.json`)).json();
      assertEquals(exp.noSources, "No sources were found");
      // The label survives a reload (from the record, not only the live event).
      await page.reload();
      await hydrated(page);
      await page.waitForSelector(".no-sources .no-sources-badge");
      // "Run again" searches where this run searched: the same engine and collection.
      await page.click("button.retry");
      await page.waitForURL((u) => u.pathname.startsWith("/research/") && !u.pathname.endsWith(id));
      const again = new URL(page.url()).pathname.split("/").pop()!;
      const rerun = await (await req("GET", `/api/research/${again}`)).json();
      assertEquals(rerun.run.sources.engines, ["library"]);
      assertEquals(rerun.run.sources.collections, [ids.Bees]);

      // A run with no engine at all is labelled from its first render.
      const none = await req("POST", "/api/research", {
        query: "Plain question",
        sources: { engines: ["none"] },
      });
      const noneId = (await none.json()).id;
      const p2 = await openPage(stack, `/research/${noneId}`);
      assertStringIncludes(
        (await p2.textContent(".no-sources"))!,
        "Model knowledge only",
      );
      assertEquals(stack.errors, []);
    } finally {
      await emb.close();
    }
  },
);
