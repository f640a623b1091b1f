/**
 * The public view of settings: what `GET /api/settings` returns and the settings form renders.
 * Secret values never leave the process: they become `{"set": true|false}` here, the one place
 * that shapes settings for the outside.
 */
import { envName, GROUPS, SETTING_KEYS, type SettingKey, SETTINGS, type UiHint } from "./schema.ts";
import type { ResolvedSettings, SettingSource } from "./store.ts";

/** A secret's public stand-in. */
export interface SecretValue {
  set: boolean;
}

/** One key as the outside sees it. */
export interface SettingView {
  key: SettingKey;
  value: unknown;
  default: unknown;
  source: SettingSource;
  locked: boolean;
  env: string;
  label: string;
  description: string;
  group: string;
  ui: UiHint;
  secret: boolean;
  min?: number;
  max?: number;
  step?: number;
  options?: readonly { value: string; label: string }[];
}

/** The whole settings document. */
export interface SettingsView {
  settings: Record<SettingKey, SettingView>;
  groups: Record<string, string>;
  warnings: string[];
}

/** Shapes resolved settings for output, hiding secrets. */
export function settingsView(
  resolved: ResolvedSettings,
  envWarnings: readonly string[] = [],
): SettingsView {
  const settings = {} as Record<SettingKey, SettingView>;
  for (const key of SETTING_KEYS) {
    const def = SETTINGS[key] as (typeof SETTINGS)[SettingKey] & {
      secret?: boolean;
      min?: number;
      max?: number;
      step?: number;
      options?: readonly { value: string; label: string }[];
    };
    const secret = def.secret === true;
    const value = resolved.values[key];
    settings[key] = {
      key,
      value: secret ? { set: value !== "" } satisfies SecretValue : value,
      default: secret ? { set: def.default !== "" } satisfies SecretValue : def.default,
      source: resolved.sources[key],
      locked: resolved.sources[key] === "env",
      env: envName(key),
      label: def.label,
      description: def.description,
      group: def.group,
      ui: def.ui,
      secret,
      ...(def.min !== undefined ? { min: def.min } : {}),
      ...(def.max !== undefined ? { max: def.max } : {}),
      ...(def.step !== undefined ? { step: def.step } : {}),
      ...(def.options ? { options: def.options } : {}),
    };
  }
  const warnings = [
    ...envWarnings,
    ...resolved.invalidStored.map((i) =>
      `The stored value of ${i.key} is no longer valid (${i.message}); using the default`
    ),
  ];
  return { settings, groups: { ...GROUPS }, warnings };
}
