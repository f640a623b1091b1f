/**
 * Settings in Deno KV. Stored values outlive code versions, so every read re-validates and falls
 * back to the default (reporting it) instead of crashing; env overrides win and lock their key;
 * a PATCH is all-or-nothing through one atomic operation with a bounded retry on conflict.
 */
import { settingKey, SETTINGS_PREFIX, SETTINGS_REVISION_KEY } from "../kv/keys.ts";
import type { EnvOverrides } from "./env.ts";
import {
  defaultSettings,
  envName,
  isSettingKey,
  parseSetting,
  SETTING_KEYS,
  type SettingKey,
  type Settings,
} from "./schema.ts";

/** Where a value came from. */
export type SettingSource = "default" | "kv" | "env";

/** Settings as the app sees them right now. */
export interface ResolvedSettings {
  values: Settings;
  sources: Record<SettingKey, SettingSource>;
  /** Stored values that no longer validate (shown once, then the default applies). */
  invalidStored: { key: SettingKey; message: string }[];
}

/** A problem with one key in a PATCH. */
export interface KeyIssue {
  key: string;
  message: string;
}

/** Result of a PATCH: applied, or refused as a whole. */
export type PatchResult =
  | { ok: true; settings: ResolvedSettings; changed: SettingKey[] }
  | { ok: false; kind: "validation"; issues: KeyIssue[] }
  | { ok: false; kind: "locked"; issues: KeyIssue[] }
  | { ok: false; kind: "conflict"; issues: KeyIssue[] };

/** The settings store handed to routes and services. */
export interface SettingsStore {
  get(): Promise<ResolvedSettings>;
  patch(input: Record<string, unknown>): Promise<PatchResult>;
  reset(key: SettingKey): Promise<PatchResult>;
  isLocked(key: SettingKey): boolean;
  /** Start-up warnings from the environment (empty values). */
  envWarnings: readonly string[];
}

const MAX_ATTEMPTS = 20;

/** How the store may cache. */
export interface SettingsStoreOptions {
  /**
   * True when nothing outside this process can write to `kv` (a `:memory:` KV): the cache is then
   * invalidated by this process's own writes (every store on the handle) and by `kv.watch` on the
   * revision key, and a read costs no KV access. False (the default, and any KV file): each read
   * checks the revision key, because a local KV file does not deliver `kv.watch` notifications of
   * another process's writes.
   */
  exclusive?: boolean;
}

/**
 * What the stores on one KV handle share: a generation bumped by every write any of them makes
 * (synchronously, before the write returns) and by the handle's one watch on the revision key.
 */
interface HandleState {
  generation: number;
  /** The revision's versionstamp as last written or seen (a watch echo of it is no change). */
  stamp: string | null;
  watching: boolean;
}

const handles = new WeakMap<Deno.Kv, HandleState>();

function handleState(kv: Deno.Kv): HandleState {
  let state = handles.get(kv);
  if (!state) handles.set(kv, state = { generation: 0, stamp: null, watching: false });
  return state;
}

/** One watch per handle; it ends when the handle closes. */
function watchRevision(kv: Deno.Kv, state: HandleState): void {
  if (state.watching) return;
  state.watching = true;
  (async () => {
    for await (const [entry] of kv.watch([SETTINGS_REVISION_KEY])) {
      if (entry.versionstamp === state.stamp) continue;
      state.stamp = entry.versionstamp;
      state.generation++;
    }
  })().catch(() => {/* the handle closed */}).finally(() => state.watching = false);
}

/** Builds the store over a KV handle and the parsed environment overrides. */
export function createSettingsStore(
  kv: Deno.Kv,
  env: EnvOverrides,
  opts: SettingsStoreOptions = {},
): SettingsStore {
  let cache: ResolvedSettings | undefined;
  let cacheStamp: string | null = null;
  const shared = handleState(kv);
  let cacheGeneration = -1;

  async function load(): Promise<ResolvedSettings> {
    const values = defaultSettings() as Record<string, unknown>;
    const sources = {} as Record<SettingKey, SettingSource>;
    for (const key of SETTING_KEYS) sources[key] = "default";
    const invalidStored: ResolvedSettings["invalidStored"] = [];
    for await (const entry of kv.list({ prefix: SETTINGS_PREFIX })) {
      const key = String(entry.key[1]);
      if (!isSettingKey(key)) continue; // a key from an older version: ignored, kept
      const parsed = parseSetting(key, entry.value);
      if (parsed.ok) {
        values[key] = parsed.value;
        sources[key] = "kv";
      } else {
        invalidStored.push({ key, message: parsed.message });
      }
    }
    for (const [key, value] of Object.entries(env.values)) {
      values[key] = value;
      sources[key as SettingKey] = "env";
    }
    return { values: values as Settings, sources, invalidStored };
  }

  function isLocked(key: SettingKey): boolean {
    return Object.hasOwn(env.values, key);
  }

  function validate(input: Record<string, unknown>): PatchResult | Map<SettingKey, unknown> {
    const issues: KeyIssue[] = [];
    const locked: KeyIssue[] = [];
    const parsed = new Map<SettingKey, unknown>();
    for (const [key, value] of Object.entries(input)) {
      if (!isSettingKey(key)) {
        issues.push({ key, message: `Unknown setting "${key}"` });
        continue;
      }
      if (isLocked(key)) {
        locked.push({
          key,
          message: `${key} is set by the environment variable ${envName(key)}; change it there`,
        });
        continue;
      }
      const result = parseSetting(key, value);
      if (result.ok) parsed.set(key, result.value);
      else issues.push({ key, message: result.message });
    }
    if (locked.length) return { ok: false, kind: "locked", issues: locked };
    if (issues.length) return { ok: false, kind: "validation", issues };
    return parsed;
  }

  async function write(changes: Map<SettingKey, unknown | undefined>): Promise<PatchResult> {
    // Every write bumps one revision counter under an atomic check, so concurrent PATCHes are
    // serialised (each applied whole, in some order) and the cache knows when it is stale.
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const rev = await kv.get<bigint>(SETTINGS_REVISION_KEY);
      const op = kv.atomic().check(rev).set(SETTINGS_REVISION_KEY, (rev.value ?? 0n) + 1n);
      for (const [key, value] of changes) {
        if (value === undefined) op.delete(settingKey(key));
        else op.set(settingKey(key), value);
      }
      const res = await op.commit();
      cache = undefined;
      if (res.ok) {
        shared.stamp = res.versionstamp;
        shared.generation++; // every store on this handle reloads at its next read
      }
      if (res.ok) return { ok: true, settings: await get(), changed: [...changes.keys()] };
      await new Promise((r) => setTimeout(r, Math.random() * 4 * (attempt + 1)));
    }
    return {
      ok: false,
      kind: "conflict",
      issues: [{
        key: [...changes.keys()].join(","),
        message: "Settings were being changed by many requests at once; try again",
      }],
    };
  }

  /**
   * The cache is valid while the revision key is unchanged; reading that one key on every call
   * is how a PATCH made by another process on the same KV file applies here (a local KV file
   * does not deliver `kv.watch` notifications across processes). The read is "eventual": on a
   * local KV (SQLite) that is a plain read of the committed file, which sees every commit that has
   * returned, in this process or another, at a third of a strong read's cost (~35 µs against
   * ~80-130 µs: the strong read queues behind the writer); it runs on every /v1 request.
   */
  async function get(): Promise<ResolvedSettings> {
    if (opts.exclusive) return await getExclusive();
    const rev = await kv.get(SETTINGS_REVISION_KEY, { consistency: "eventual" });
    if (!cache || rev.versionstamp !== cacheStamp) {
      cache = await load();
      cacheStamp = rev.versionstamp;
    }
    return cache;
  }

  /**
   * No KV access while nothing was written: a load that a write overtook is returned to its
   * caller (who asked before the write returned) but not kept.
   */
  async function getExclusive(): Promise<ResolvedSettings> {
    const generation = shared.generation;
    if (cache && cacheGeneration === generation) return cache;
    watchRevision(kv, shared);
    const loaded = await load();
    if (shared.generation === generation) {
      cache = loaded;
      cacheGeneration = generation;
    }
    return loaded;
  }

  return {
    get,
    isLocked,
    envWarnings: env.warnings,
    async patch(input) {
      const checked = validate(input);
      return checked instanceof Map ? await write(checked) : checked;
    },
    async reset(key) {
      if (isLocked(key)) {
        return {
          ok: false,
          kind: "locked",
          issues: [{
            key,
            message: `${key} is set by the environment variable ${envName(key)}; change it there`,
          }],
        };
      }
      return await write(new Map([[key, undefined]]));
    },
  };
}
