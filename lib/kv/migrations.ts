/**
 * Ordered KV migrations run at start-up. Each step is guarded by an atomic check on the schema
 * version, so two processes starting on one file cannot both apply a step.
 */
import { RUNS_PREFIX, SCHEMA_VERSION_KEY } from "./keys.ts";

/** One migration: moves data from version `index` to `index + 1`. */
export type Migration = (kv: Deno.Kv) => Promise<void>;

/** The migrations, oldest first. Version N means the first N have run. */
export const MIGRATIONS: Migration[] = [
  // 1: the initial layout (settings, runs, events). Nothing to move.
  async () => {},
  // 2: runs have owners, a pipeline and step records (lib/research/legacy.ts). Imported when the
  // step runs on a file that holds runs: it pulls in the research pipeline and classic zod, which
  // start-up otherwise does not load (tests/distribution/startup_graph_test.ts). A new file or
  // `:memory:` has no run to upgrade, so its first start loads none of that.
  async (kv) => {
    if ((await kv.list({ prefix: RUNS_PREFIX }, { limit: 1 }).next()).done) return;
    await (await import("../research/legacy.ts")).upgradeLegacyRuns(kv);
  },
];

/** Brings the store up to date; returns the version it ends at. */
export async function migrate(kv: Deno.Kv, migrations: Migration[] = MIGRATIONS): Promise<number> {
  for (;;) {
    const current = await kv.get<number>(SCHEMA_VERSION_KEY);
    const version = current.value ?? 0;
    if (version > migrations.length) {
      throw new Error(
        `This data was written by a newer deepstudio (schema ${version}, this build knows ${migrations.length}); upgrade deepstudio or use another --kv file`,
      );
    }
    if (version === migrations.length) return version;
    await migrations[version](kv);
    const res = await kv.atomic().check(current).set(SCHEMA_VERSION_KEY, version + 1).commit();
    if (!res.ok) continue; // another process moved it: re-read and go on from there
  }
}
