/**
 * Shapes the Research page island's props from the settings view: the providers in UI order and
 * only the settings the LLM panel binds (secrets stay `{set}`), so nothing else reaches the page.
 */
import { PROVIDERS } from "../../lib/providers/records.ts";
import { PROVIDER_IDS, type SettingKey } from "../../lib/settings/schema.ts";
import type { SettingsView } from "../../lib/settings/view.ts";
import { pickCollections } from "../../lib/search/engines.ts";
import { defaultCollections } from "../../lib/sources/request.ts";
import type { PanelField, ResearchFormProps } from "../../islands/ResearchForm.tsx";

const PANEL_KEYS: SettingKey[] = [
  "llm.provider",
  "llm.model",
  "llm.temperature",
  "llm.max_tokens",
  "llm.local_context_window_size",
  "llm.context_window_size",
  "search.engine",
];

/**
 * Props for `ResearchForm`; `collections` are the Library's, offered when the Library is ticked,
 * those the `search.library.collections` setting names ticked at first (all when it names none).
 */
export function researchFormProps(
  view: SettingsView,
  collections: { id: string; name: string }[] = [],
): ResearchFormProps {
  const providers = PROVIDER_IDS.map((id) => {
    const r = PROVIDERS[id];
    return {
      id,
      name: r.displayName,
      local: r.local,
      urlKey: r.urlSetting,
      keyKey: r.apiKeySetting,
      canLoad: !!r.adapter.loadModel,
      jit: !!r.adapter.jit,
      ui: r.adapter.hints.ui.line,
    };
  });
  const keys = new Set<string>(PANEL_KEYS);
  for (const p of providers) {
    if (p.urlKey) keys.add(p.urlKey);
    keys.add(p.keyKey);
  }
  const fields: Record<string, PanelField> = {};
  for (const key of keys) {
    const s = view.settings[key as SettingKey];
    if (!s) continue;
    fields[key] = {
      value: s.value,
      label: s.label,
      locked: s.locked,
      env: s.env,
      ...(s.min !== undefined ? { min: s.min } : {}),
      ...(s.max !== undefined ? { max: s.max } : {}),
      ...(s.step !== undefined ? { step: s.step } : {}),
    };
  }
  const wanted = defaultCollections({
    "search.library.collections": String(view.settings["search.library.collections"].value),
  });
  return { providers, fields, collections, picked: pickCollections(collections, wanted) };
}
