/**
 * The Library page in real Chromium, by keyboard only: create a collection, add a folder of
 * mixed documents, watch it index, read failure reasons, search for a phrase from page 3 of a
 * PDF and see that page first with the words highlighted, upload through the drop zone's file
 * chooser, and remove a document after confirming.
 */
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import type { FileChooser } from "playwright-core";
import { HAVE_CHROMIUM, launchBrowser } from "./browser.ts";
import { tabTo } from "./stack.ts";
import { PDF_PHRASES, startLibrary, writeMixedFolder } from "../library/library_fixture.ts";

const opts = { ignore: !HAVE_CHROMIUM, sanitizeResources: false, sanitizeOps: false };

Deno.test({
  ...opts,
  name: "library page: create, add a folder, index, search, upload and remove, by keyboard",
  async fn() {
    const lib = await startLibrary();
    const browser = await launchBrowser();
    try {
      await writeMixedFolder(lib.root);
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(String(e)));
      // Listening now turns on Playwright's file-chooser interception before the key press: a
      // listener added in the same tick as a fast keyboard press can lose that race, and the
      // chooser then opens natively (headless: nowhere) with no event.
      const chooserSeen = new Promise<FileChooser>((resolve) => page.once("filechooser", resolve));
      await page.goto(`${lib.url}/`);
      await page.click("nav >> text=Library");
      await page.waitForSelector('ds-island[data-hydrated="1"]');
      assertStringIncludes((await page.textContent("main"))!, "No collections yet");

      await tabTo(page, "#collection-name");
      await page.keyboard.type("Field notes");
      await page.keyboard.press("Enter");
      await page.waitForURL(/\/library\/[0-9a-f-]{36}$/);
      await page.waitForSelector('ds-island[data-hydrated="1"]');

      await tabTo(page, "#folder-path");
      await page.keyboard.type(lib.root);
      await page.keyboard.press("Enter");
      await page.waitForSelector("#library-message >> text=8 new");
      await page.waitForSelector('tr[data-doc="report.pdf"] .state-indexed');
      await page.waitForSelector('tr[data-doc="scan.pdf"] .state-failed');
      await page.waitForFunction(() => !document.querySelector(".state-queued, .state-indexing"));
      assertStringIncludes((await page.textContent('tr[data-doc="scan.pdf"]'))!, "no text layer");
      assertEquals(
        (await page.textContent('tr[data-doc="report.pdf"] td:nth-child(3)'))!.trim(),
        "5",
      );

      await tabTo(page, "#library-q");
      await page.keyboard.type(PDF_PHRASES[2]);
      await page.keyboard.press("Enter");
      const first = page.locator(".library-hits li").first();
      await first.waitFor();
      assertStringIncludes((await first.textContent())!, "page 3");
      assertStringIncludes((await first.textContent())!, "Field report");
      const marks = await first.locator("mark").allTextContents();
      assert(marks.map((m) => m.toLowerCase()).includes("copper"), marks.join(","));

      // The drop zone's button opens the file chooser.
      await tabTo(page, "#choose-files");
      await page.keyboard.press("Enter");
      let timer: ReturnType<typeof setTimeout> | undefined;
      const chooser = await Promise.race([
        chooserSeen,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error("no file chooser opened")), 30_000);
        }),
      ]).finally(() => clearTimeout(timer));
      const otters = `${lib.root}/../otters.txt`;
      await Deno.writeTextFile(otters, "Otters hold hands while they sleep.");
      await chooser.setFiles(otters);
      await page.waitForSelector('tr[data-doc="otters.txt"] .state-indexed');

      page.on("dialog", (d) => d.accept());
      await tabTo(page, 'button[aria-label="Remove otters.txt"]');
      await page.keyboard.press("Enter");
      await page.waitForSelector('tr[data-doc="otters.txt"]', { state: "detached" });
      const docs = (await lib.api("GET", "/api/collections")).body.collections[0];
      assertEquals(docs.documents, 8);
      assertEquals(errors, []);
    } finally {
      await browser.close();
      await lib.close();
    }
  },
});
