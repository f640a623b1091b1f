/**
 * Two processes writing one KV file at once: Deno's store refuses some writes with
 * "database is locked" (the control run proves this machine reproduces it); the app's store
 * waits and retries, so every write lands and the counter is exact.
 */
import { assert, assertEquals } from "../assert.ts";
import { isLockedError, retryLocked } from "../../lib/kv/locked_retry.ts";

const WRITER = new URL("./locked_writer.ts", import.meta.url).pathname;

async function race(path: string, count: number, raw: boolean) {
  const run = () =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--unstable-kv", WRITER, path, String(count), ...(raw ? ["--raw"] : [])],
      stdout: "piped",
      stderr: "inherit",
    }).output();
  const outs = await Promise.all([run(), run()]);
  return outs.map((o) => {
    assertEquals(o.code, 0);
    return JSON.parse(new TextDecoder().decode(o.stdout).trim()) as {
      ok: number;
      errors: number;
      first: string;
    };
  });
}

Deno.test("two processes on one KV file: every write lands (locked writes are retried)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const control = await race(`${dir}/raw.sqlite3`, 600, true);
    const refused = control.reduce((a, r) => a + r.errors, 0);
    assert(refused > 0, "Deno's store refused no write: this check would prove nothing");
    assert(control.some((r) => /database is locked/.test(r.first)), control[0].first);

    const path = `${dir}/app.sqlite3`;
    const app = await race(path, 600, false);
    assertEquals(app.map((r) => r.errors), [0, 0], app.map((r) => r.first).join(" | "));
    const kv = await Deno.openKv(path);
    try {
      assertEquals((await kv.get<bigint>(["rev"])).value, 1200n);
    } finally {
      kv.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("retryLocked passes other errors on at once and gives up on the lock after its budget", async () => {
  let calls = 0;
  const other = await retryLocked(() => {
    calls++;
    return Promise.reject(new Error("disk full"));
  }).catch((e) => e);
  assertEquals([String(other), calls], ["Error: disk full", 1]);
  calls = 0;
  const locked = await retryLocked(() => {
    calls++;
    return Promise.reject(new TypeError("database is locked"));
  }, 30).catch((e) => e);
  assert(isLockedError(locked));
  assert(calls > 1, `tried ${calls} times`);
});
