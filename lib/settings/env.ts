/**
 * Environment overrides (docs/providers.md, "Settings"): `LDR_<KEY>` wins over KV and locks the key. Users of the
 * original app already write these names in docker-compose files, so the naming is exact.
 */
import {
  envName,
  parseSetting,
  SETTING_KEYS,
  type SettingKey,
  SETTINGS,
  type Settings,
} from "./schema.ts";

/** What the environment says about settings: values that apply, and what was ignored or wrong. */
export interface EnvOverrides {
  values: Partial<Settings>;
  /** Set but empty: ignored, reported once at start-up. */
  warnings: string[];
  /** Set but invalid: start-up refuses, naming the variable and the fix. */
  errors: string[];
}

const TRUE = new Set(["true", "1", "yes", "on"]);
const FALSE = new Set(["false", "0", "no", "off"]);

function coerce(key: SettingKey, raw: string): unknown {
  const d = SETTINGS[key].default;
  const numeric = typeof d === "number" || (d === null && SETTINGS[key].ui === "number");
  if (typeof d === "boolean") {
    const v = raw.trim().toLowerCase();
    return TRUE.has(v) ? true : FALSE.has(v) ? false : raw;
  }
  if (numeric) {
    const v = raw.trim();
    return v !== "" && Number.isFinite(Number(v)) ? Number(v) : raw;
  }
  return raw;
}

/** Reads every `LDR_*` variable that names a setting. */
export function readEnvOverrides(env: Record<string, string | undefined>): EnvOverrides {
  const out: EnvOverrides = { values: {}, warnings: [], errors: [] };
  for (const key of SETTING_KEYS) {
    const name = envName(key);
    const raw = env[name];
    if (raw === undefined) continue;
    if (raw.trim() === "") {
      out.warnings.push(
        `${name} is set but empty; ignoring it (${key} uses its stored or default value)`,
      );
      continue;
    }
    const parsed = parseSetting(key, coerce(key, raw));
    if (parsed.ok) (out.values as Record<string, unknown>)[key] = parsed.value;
    else {out.errors.push(
        `${name}=${
          SETTINGS[key].secret ? "(hidden)" : JSON.stringify(raw)
        } is invalid: ${parsed.message}`,
      );}
  }
  return out;
}
