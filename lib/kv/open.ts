/**
 * Opens the data file: the KV file holds API keys in plain text, so its directory is created
 * `0700` and the file (with SQLite's `-wal`/`-shm` companions) is kept `0600`. A path that cannot
 * be a KV file (a directory, a file that is not SQLite, a parent that is a file) becomes one
 * `KvOpenError` naming the path and the `--kv` flag instead of a stack trace.
 */
import { parentDir } from "../config.ts";
import { retryLockedWrites } from "./locked_retry.ts";
import { migrate } from "./migrations.ts";

/** Mode of the data directory: only the owner may list or enter it. */
export const DATA_DIR_MODE = 0o700;
/** Mode of the KV file and its `-wal`/`-shm` files: only the owner may read them. */
export const DATA_FILE_MODE = 0o600;

/** The KV file could not be opened; `message` is one line meant for the terminal. */
export class KvOpenError extends Error {}

function reason(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return text.split("\n")[0];
}

const POSIX = Deno.build.os !== "windows";

/** Companion files SQLite creates next to the database in WAL mode. */
export function kvFiles(path: string): string[] {
  return [path, `${path}-wal`, `${path}-shm`];
}

async function tighten(path: string): Promise<void> {
  if (!POSIX) return;
  for (const file of kvFiles(path)) {
    try {
      await Deno.chmod(file, DATA_FILE_MODE);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }
}

/**
 * Creates the directory (0700) and an empty file (0600) when absent, opens the store, reads it once
 * (a non-SQLite file fails here), migrates it and tightens the modes of files an older version left
 * readable. SQLite creates `-wal`/`-shm` with the database file's mode, so they start `0600` too.
 */
export async function openDataKv(path: string): Promise<Deno.Kv> {
  if (path === ":memory:") {
    const kv = await Deno.openKv(path);
    await migrate(kv);
    return kv;
  }
  const fail = (what: string, e: unknown) =>
    new KvOpenError(`cannot ${what} the KV file ${path} (--kv): ${reason(e)}`);
  try {
    await Deno.mkdir(parentDir(path), { recursive: true, mode: DATA_DIR_MODE });
  } catch (e) {
    throw fail("create the directory of", e);
  }
  try {
    const stat = await Deno.stat(path);
    if (stat.isDirectory) throw new Error("it is a directory; give a file path");
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw fail("open", e);
    try {
      // An empty file is a valid empty SQLite database; creating it here fixes its mode.
      (await Deno.open(path, { createNew: true, write: true, mode: DATA_FILE_MODE })).close();
    } catch (e) {
      if (!(e instanceof Deno.errors.AlreadyExists)) throw fail("create", e);
    }
  }
  let kv: Deno.Kv | undefined;
  try {
    kv = retryLockedWrites(await Deno.openKv(path));
    await migrate(kv);
    await tighten(path);
    return kv;
  } catch (e) {
    kv?.close();
    throw fail("open", e);
  }
}
