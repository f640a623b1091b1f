/**
 * Spawns deepstudio as a real child process (the way people run it) and waits for the URL it
 * prints. The distribution tests use it for `deno run main.ts` from other directories and for the
 * one-file bundle; the port is always OS-chosen (`--port 0`).
 */

/** The repository root, for spawning main.ts and scripts by absolute path. */
export const ROOT = new URL("../../", import.meta.url).pathname;

/** Permission flags of `deno task start` (kept in step by help_test.ts). */
export const RUN_PERMISSIONS = [
  "--allow-net",
  "--allow-env",
  "--allow-read",
  "--allow-write",
  "--allow-sys",
];

/** A running child: its URL, everything it printed so far, and a way to stop it. */
export interface RunningServer {
  url: string;
  pid: number;
  output: () => string;
  /** Sends `signal` (unless it already exited) and waits for the exit and its output. */
  kill: (signal: Deno.Signal) => Promise<Deno.CommandStatus>;
  readonly exited: boolean;
  /** Resolves with the first match of `pattern` in the output (the child may still be printing). */
  waitForOutput: (pattern: RegExp) => Promise<RegExpMatchArray>;
  stop: () => Promise<void>;
}

/** Generous bound so a wedged child fails the test instead of hanging it; never hit normally. */
const START_LIMIT_MS = 60_000;

/**
 * Runs `deno <args>` in `cwd` and resolves once it prints "deepstudio is running at <url>".
 * Rejects with the child's output when it exits first. The caller stops it in a finally block.
 */
export async function startServer(
  args: string[],
  options: { cwd: string; env?: Record<string, string> },
): Promise<RunningServer> {
  const child = new Deno.Command(Deno.execPath(), {
    args,
    cwd: options.cwd,
    env: { NO_COLOR: "1", ...options.env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let text = "";
  const drain = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) text += decoder.decode(chunk, { stream: true });
  };
  const drained = Promise.all([drain(child.stdout), drain(child.stderr)]).catch(() => {});
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });
  const kill = async (signal: Deno.Signal) => {
    if (!exited) {
      try {
        child.kill(signal);
      } catch { /* already gone */ }
    }
    const s = await status;
    await drained;
    return s;
  };
  const stop = async () => void await kill("SIGTERM");

  const waitForOutput = async (pattern: RegExp): Promise<RegExpMatchArray> => {
    const deadline = Date.now() + START_LIMIT_MS;
    while (true) {
      const match = text.match(pattern);
      if (match) return match;
      if (exited || Date.now() > deadline) {
        throw new Error(`${exited ? "exited" : "timed out"} before printing ${pattern}:\n${text}`);
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([status, new Promise((r) => timer = setTimeout(r, 25))]);
      clearTimeout(timer);
    }
  };
  try {
    const match = await waitForOutput(/deepstudio is running at (http:\/\/\S+?)\/?\s/);
    return {
      url: match[1],
      pid: child.pid,
      output: () => text,
      kill,
      get exited() {
        return exited;
      },
      waitForOutput,
      stop,
    };
  } catch (e) {
    await stop();
    throw new Error(`deepstudio did not start: ${(e as Error).message}`);
  }
}

/** Runs `deno <args>` to completion and returns its exit code and combined output. */
export async function runDeno(
  args: string[],
  options: { cwd: string; env?: Record<string, string> },
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: options.cwd,
    env: { NO_COLOR: "1", ...options.env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

/** What the full app answered: both pages, the hashed client script and stylesheet, health. */
export interface AppParts {
  home: string;
  settings: string;
  clientPath: string;
  client: { status: number; type: string | null; body: string };
  cssPath: string;
  css: { status: number; type: string | null; body: string };
  health: { status: number; body: { status?: string; version?: string } };
}

async function get(url: string): Promise<{ status: number; type: string | null; body: string }> {
  const res = await fetch(url);
  return { status: res.status, type: res.headers.get("content-type"), body: await res.text() };
}

/** Fetches the pieces that make up the full app, following the asset links the pages print. */
export async function fetchAppParts(url: string): Promise<AppParts> {
  const home = await get(`${url}/`);
  if (home.status !== 200) throw new Error(`GET / answered ${home.status}: ${home.body}`);
  const settings = await get(`${url}/settings`);
  if (settings.status !== 200) {
    throw new Error(`GET /settings answered ${settings.status}: ${settings.body}`);
  }
  const clientPath = settings.body.match(/\/static\/page-settings\.[0-9a-f]{12}\.js/)?.[0];
  if (!clientPath) throw new Error(`No hashed client script on /settings:\n${settings.body}`);
  const cssPath = home.body.match(/\/static\/app\.[0-9a-f]{12}\.css/)?.[0];
  if (!cssPath) throw new Error(`No hashed stylesheet on /:\n${home.body}`);
  const healthRes = await fetch(`${url}/api/health`);
  return {
    home: home.body,
    settings: settings.body,
    clientPath,
    client: await get(`${url}${clientPath}`),
    cssPath,
    css: await get(`${url}${cssPath}`),
    health: { status: healthRes.status, body: await healthRes.json() },
  };
}

/**
 * Fetches every asset lib/assets.ts declares (client bundles, stylesheet, icon) from `url` and
 * returns the paths whose status or bytes differ from the files in this checkout.
 */
export async function mismatchedAssets(url: string): Promise<string[]> {
  const { ASSETS } = await import("../../lib/assets.ts");
  const bad: string[] = [];
  for (const asset of ASSETS.values()) {
    const res = await fetch(`${url}${asset.path}`);
    const body = await res.text();
    if (res.status !== 200 || body !== asset.body) bad.push(`${asset.path} (${res.status})`);
  }
  return bad;
}
