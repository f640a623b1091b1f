/**
 * Headless Chromium for end-to-end tests, driven by playwright-core against Debian's
 * /usr/bin/chromium (never a downloaded browser), with the flags that keep it off the network.
 * When Chromium is absent the tests skip with one line saying so.
 */
import { type Browser, chromium } from "playwright-core";

/** Where Chromium is expected (override with CHROMIUM_PATH). */
export const CHROMIUM_PATH = Deno.env.get("CHROMIUM_PATH") ?? "/usr/bin/chromium";

function exists(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/** True when browser tests can run; prints the one-line notice once when they cannot. */
export const HAVE_CHROMIUM: boolean = (() => {
  const ok = exists(CHROMIUM_PATH);
  if (!ok) {
    console.log(
      `skipping browser tests: no Chromium at ${CHROMIUM_PATH} (apt-get install -y chromium)`,
    );
  }
  return ok;
})();

/**
 * Launches headless Chromium (playwright gives it a fresh temporary profile), offline apart from
 * loopback. `extraArgs` adds flags, e.g. `--host-resolver-rules` to point a name at 127.0.0.1.
 */
export async function launchBrowser(extraArgs: string[] = []): Promise<Browser> {
  return await chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-dev-shm-usage",
      ...extraArgs,
    ],
  });
}
