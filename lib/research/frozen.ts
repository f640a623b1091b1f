/**
 * A run's settings, resolved once when it starts and used by every step (a URL, key or parameter
 * changed mid-run applies to the next run, never to the rest of this one). The copy is stored
 * beside the run without its secrets, so a run resumed after a restart talks to the same server
 * with the same parameters; API keys are taken from the current settings at that point, because
 * they are never written anywhere but their own setting.
 */
import { SETTING_KEYS, SETTINGS, type Settings } from "../settings/schema.ts";

/** The stored copy: every non-secret setting's value at the run's start. */
export type FrozenSettings = Partial<Record<keyof Settings, unknown>>;

/** The settings the stored copy holds: all but the secrets. */
const FROZEN_KEYS = SETTING_KEYS.filter((key) => !(SETTINGS[key] as { secret?: boolean }).secret);

/** The non-secret part of `settings`, for storing. */
export function freezeSettings(settings: Settings): FrozenSettings {
  const out: FrozenSettings = {};
  for (const key of FROZEN_KEYS) out[key] = settings[key];
  return out;
}

/** The frozen values over `current` (which supplies secrets and settings added since). */
export function thawSettings(frozen: FrozenSettings, current: Settings): Settings {
  const out = { ...current } as Record<string, unknown>;
  for (const key of FROZEN_KEYS) if (Object.hasOwn(frozen, key)) out[key] = frozen[key];
  return Object.freeze(out) as Settings;
}
