/**
 * deepstudio as a separate process (`deno run main.ts --port 0 --kv <file>`), the way people run
 * it, so a test can do to it what happens to real processes: `kill -9` mid-run, then a restart on
 * the same KV file. The load test uses it too, so the RSS it reads is deepstudio's own.
 */

import { ROOT, RUN_PERMISSIONS } from "../distribution/process.ts";

export { ROOT, RUN_PERMISSIONS };

/** A running deepstudio process. */
export interface Child {
  url: string;
  pid: number;
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
  /** Sends a signal and waits for the exit; returns how it ended. */
  kill(signal: Deno.Signal): Promise<Deno.CommandStatus>;
  readonly exited: boolean;
}

/** Generous bound so a wedged child fails instead of hanging; never reached normally. */
const START_LIMIT_MS = 60_000;

/** Starts main.ts on port 0 with `kvPath`; resolves once it prints its URL. */
export async function startChild(
  kvPath: string,
  env: Record<string, string>,
  extraArgs: string[] = [],
): Promise<Child> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...RUN_PERMISSIONS, "main.ts", "--port", "0", "--kv", kvPath, ...extraArgs],
    cwd: ROOT,
    env: { NO_COLOR: "1", ...env },
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
  const handle: Child = {
    url: "",
    pid: child.pid,
    output: () => text,
    async kill(signal) {
      if (!exited) {
        try {
          child.kill(signal);
        } catch { /* already gone */ }
      }
      const s = await status;
      await drained;
      return s;
    },
    get exited() {
      return exited;
    },
  };
  const deadline = Date.now() + START_LIMIT_MS;
  for (;;) {
    const m = text.match(/deepstudio is running at (http:\/\/[^\s/]+)\//);
    if (m) {
      handle.url = m[1];
      return handle;
    }
    if (exited || Date.now() > deadline) {
      await handle.kill("SIGKILL");
      throw new Error(`deepstudio ${exited ? "exited" : "did not start"}:\n${text}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Resident set size of a process in bytes (Linux /proc), or null where unavailable. */
export function rssBytes(pid: number): number | null {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    const m = status.match(/^VmRSS:\s+(\d+)\s+kB/m);
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}
