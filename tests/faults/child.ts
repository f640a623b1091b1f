/**
 * deepstudio as a separate process (`deno run main.ts --port 0 --kv <file>`), the way people run
 * it, so a test can do to it what happens to real processes: `kill -9` mid-run, then a restart on
 * the same KV file. The load test uses it too, so the RSS it reads is deepstudio's own.
 */

import { ROOT, RUN_PERMISSIONS, type RunningServer, startServer } from "../distribution/process.ts";

export { ROOT, RUN_PERMISSIONS };

/** A running deepstudio process. */
export type Child = RunningServer;

/** Starts main.ts on port 0 with `kvPath`; resolves once it prints its URL. */
export function startChild(
  kvPath: string,
  env: Record<string, string>,
  extraArgs: string[] = [],
): Promise<Child> {
  return startServer(
    ["run", ...RUN_PERMISSIONS, "main.ts", "--port", "0", "--kv", kvPath, ...extraArgs],
    { cwd: ROOT, env },
  );
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
