/**
 * The whole thing a person uses, for browser tests: a fake LM Studio, deepstudio on a real socket
 * (port 0) pointed at it through the settings API (not the environment, so the URL field stays
 * editable), and headless Chromium. `close()` tears everything down in reverse order.
 */
import type { Browser, BrowserContext, Page } from "playwright-core";
import { assertEquals } from "../assert.ts";
import {
  type FakeLmStudio,
  type FakeLmStudioOptions,
  startFakeLmStudio,
} from "../fakes/lmstudio.ts";
import { json, serve, testApp } from "../helpers.ts";
import { HAVE_CHROMIUM, launchBrowser } from "./browser.ts";

/** A running stack. */
export interface Stack {
  lm: FakeLmStudio;
  url: string;
  app: Awaited<ReturnType<typeof testApp>>;
  browser: Browser;
  context: BrowserContext;
  /** A fresh page that records uncaught page errors and console errors in `errors`. */
  page(): Promise<Page>;
  errors: string[];
  close(): Promise<void>;
}

/** How a stack starts. */
export interface StackOptions {
  lm?: FakeLmStudioOptions;
  colorScheme?: "light" | "dark";
  width?: number;
  /** Research through LM Studio's native chat (default: /v1, which these tests inspect). */
  native?: boolean;
}

/**
 * The `Deno.test` options of a browser test: skipped where Chromium is missing; the browser's
 * own handles and timers outlive a test's ops, so Deno's sanitizers would flag them.
 */
export const BROWSER_TEST = {
  ignore: !HAVE_CHROMIUM,
  sanitizeResources: false,
  sanitizeOps: false,
};

/** Runs `fn` on a fresh stack and closes the stack after it, whatever happens. */
export async function withStack<T>(
  opts: StackOptions,
  fn: (stack: Stack) => Promise<T>,
): Promise<T> {
  const stack = await startStack(opts);
  try {
    return await fn(stack);
  } finally {
    await stack.close();
  }
}

/** A browser test (`BROWSER_TEST`) on its own stack, closed after it whatever happens. */
export function stackTest(
  name: string,
  opts: StackOptions,
  fn: (stack: Stack) => Promise<void>,
): void {
  Deno.test({ ...BROWSER_TEST, name, fn: () => withStack(opts, fn) });
}

/** Starts fake LM Studio + deepstudio + Chromium. */
export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const lm = await startFakeLmStudio(opts.lm);
  const app = await testApp();
  const res = await app.app.request(
    "/api/settings",
    json("PATCH", { "llm.lmstudio.url": lm.url, "llm.lmstudio.native_chat": opts.native ?? false }),
  );
  assertEquals(res.status, 200, await res.text());
  const server = serve(app.app);
  const browser = await launchBrowser();
  const context = await browser.newContext({
    colorScheme: opts.colorScheme ?? "light",
    viewport: { width: opts.width ?? 1100, height: 900 },
  });
  const errors: string[] = [];
  return {
    lm,
    url: server.url,
    app,
    browser,
    context,
    errors,
    async page() {
      const page = await context.newPage();
      page.on("pageerror", (e) => errors.push(`pageerror: ${e}`));
      page.on("console", (m) => {
        if (m.type() === "error") errors.push(`console: ${m.text()}`);
      });
      return page;
    },
    async close() {
      await browser.close();
      await server.close();
      app.close();
      await lm.close();
    },
  };
}

/** A port nothing listens on (bound, then released). */
export function deadPort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** A new page of the stack's browser at `path`, hydrated: how most browser tests begin. */
export async function openPage(stack: Stack, path = "/"): Promise<Page> {
  const page = await stack.page();
  await page.goto(`${stack.url}${path}`);
  await hydrated(page);
  return page;
}

/** Waits until the island on the page has hydrated. */
export async function hydrated(page: Page): Promise<void> {
  await page.waitForSelector('ds-island[data-hydrated="1"]');
}

/** The answer's visible text, whitespace collapsed. */
export async function answerText(page: Page): Promise<string> {
  const text = await page.textContent(".answer");
  return (text ?? "").replace(/\s+/g, " ").trim();
}

/** Starts a run from the Research page and returns its id once the run view is open. */
export async function ask(page: Page, base: string, question: string): Promise<string> {
  await page.goto(`${base}/`);
  await hydrated(page);
  await page.fill("#query", question);
  await page.press("#query", "Enter");
  await page.waitForURL(/\/research\/[^/]+$/);
  await hydrated(page);
  return decodeURIComponent(new URL(page.url()).pathname.split("/").pop()!);
}

/**
 * Starts a detailed run from the Research page, past the pre-flight warning (a detailed run needs
 * more context than the fake's 4096 tokens), and returns once the run view has hydrated.
 */
export async function askDetailed(page: Page, base: string, question: string): Promise<void> {
  await page.goto(`${base}/`);
  await hydrated(page);
  await page.check("input[name=mode][value=detailed]");
  await page.fill("#query", question);
  await page.click("button[type=submit]");
  await page.click(".preflight-anyway");
  await page.waitForURL(/\/research\/[^/]+$/);
  await hydrated(page);
}

/** Presses Tab until `selector` has the focus: proves it is reachable from the keyboard. */
export async function tabTo(page: Page, selector: string): Promise<void> {
  for (let i = 0; i < 80; i++) {
    if (await page.evaluate((s) => document.activeElement?.matches(s) ?? false, selector)) return;
    await page.keyboard.press("Tab");
  }
  throw new Error(`${selector} is not reachable with Tab`);
}
