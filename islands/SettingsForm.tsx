/**
 * The settings page's form, generated from the settings schema's view: grouped fields with
 * descriptions and ranges, env-locked fields shown locked with their variable, secrets
 * write-only, server validation messages next to each field, reset to default.
 */
import { useEffect, useState } from "preact/hooks";
import type { ModelInfo } from "../lib/providers/types.ts";
import { type FamilyUi, GENERIC_UI } from "../lib/providers/ui_text.ts";
import type { SettingsView, SettingView } from "../lib/settings/view.ts";
import { api } from "./api.ts";
import { type Draft, Field, TestConnection } from "./SettingsField.tsx";

/** Props: the settings document as `GET /api/settings` returns it. */
export interface SettingsFormProps {
  view: SettingsView;
  /** Status-line texts by provider id (each adapter's `hints.ui.line`); generic when absent. */
  statusTexts?: Record<string, FamilyUi["line"]>;
}

function draftOf(s: SettingView): string | boolean {
  if (s.secret) return "";
  if (s.ui === "checkbox") return s.value === true;
  return s.value === null || s.value === undefined ? "" : String(s.value);
}

function toValue(s: SettingView, raw: string | boolean): unknown {
  if (s.ui === "checkbox") return raw === true;
  const text = String(raw);
  if (s.ui === "number" || s.ui === "range") {
    if (text.trim() === "") return s.default === null ? null : text;
    const n = Number(text);
    return Number.isFinite(n) ? n : text;
  }
  return text;
}

/** The settings form island. */
export function SettingsForm({ view: initial, statusTexts = {} }: SettingsFormProps) {
  const [view, setView] = useState(initial);
  const [draft, setDraft] = useState<Draft>(() =>
    Object.fromEntries(Object.values(initial.settings).map((s) => [s.key, draftOf(s)]))
  );
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [status, setStatus] = useState<{ kind: "ok" | "bad"; text: string } | null>(null);
  const [busy, setBusy] = useState(false);

  function adopt(next: SettingsView) {
    setView(next);
    setDraft(Object.fromEntries(Object.values(next.settings).map((s) => [s.key, draftOf(s)])));
  }

  const [models, setModels] = useState<ModelInfo[] | null>(null);
  const provider = String(draft["llm.provider"] ?? "");
  useEffect(() => {
    setModels(null);
    api<{ models: ModelInfo[] }>("GET", `/api/providers/${provider}/models?type=chat`).then((r) =>
      setModels(r.ok ? r.data.models.filter((m) => m.type !== "embedding") : null)
    );
  }, [provider]);

  const patch = changes(view, draft);
  const dirty = Object.keys(patch).length;
  const label = (key: string) => view.settings[key as keyof typeof view.settings]?.label ?? key;
  // Leaving with unsaved edits asks first (the browser's own prompt).
  useEffect(() => {
    if (!dirty) return;
    const guard = (e: BeforeUnloadEvent) => {
      e.preventDefault();
      e.returnValue = "";
    };
    addEventListener("beforeunload", guard);
    return () => removeEventListener("beforeunload", guard);
  }, [dirty > 0]);

  async function save(e: Event) {
    e.preventDefault();
    if (Object.keys(patch).length === 0) {
      setStatus({ kind: "ok", text: "Nothing changed." });
      return;
    }
    setBusy(true);
    const res = await api<SettingsView>("PATCH", "/api/settings", patch);
    setBusy(false);
    if (res.ok) {
      adopt(res.data);
      setErrors({});
      const names = Object.keys(patch).map(label);
      setStatus({ kind: "ok", text: `Saved: ${names.join(", ")}.` });
    } else {
      const byKey: Record<string, string> = {};
      for (const issue of res.error.issues ?? []) byKey[issue.key] = issue.message;
      setErrors(byKey);
      const names = Object.keys(byKey).map(label);
      setStatus({
        kind: "bad",
        text: names.length ? `Not saved: check ${names.join(", ")}.` : res.error.message,
      });
    }
  }

  async function reset(key: string) {
    const res = await api<SettingsView>("DELETE", `/api/settings/${encodeURIComponent(key)}`);
    if (res.ok) {
      adopt(res.data);
      setErrors((old) => ({ ...old, [key]: "" }));
      setStatus({ kind: "ok", text: `${label(key)} reset to its default.` });
    } else setStatus({ kind: "bad", text: res.error.message });
  }

  const groups = Object.entries(view.groups);
  return (
    <form class="settings-form" onSubmit={save} noValidate>
      {view.warnings.map((w) => <p class="notice warn" key={w}>{w}</p>)}
      <nav class="sections" aria-label="Settings sections">
        {groups.map(([group, title]) => <a key={group} href={`#group-${group}`}>{title}</a>)}
      </nav>
      {groups.map(([group, title]) => {
        const fields = Object.values(view.settings).filter((s) => s.group === group);
        if (fields.length === 0) return null;
        return (
          <fieldset class="panel" key={group} id={`group-${group}`}>
            <legend>
              <h2>{title}</h2>
            </legend>
            {fields.map((s) => (
              <Field
                key={s.key}
                s={s}
                value={draft[s.key]}
                error={errors[s.key]}
                onInput={(v) => setDraft((d) => ({ ...d, [s.key]: v }))}
                onReset={() => reset(s.key)}
                models={s.key === "llm.model" ? models : undefined}
              />
            ))}
            {fields.some((s) => s.secret) && (
              <TestConnection
                id={group}
                name={title}
                ui={statusTexts[group] ?? GENERIC_UI.line}
                url={fields.find((s) => s.ui === "url")?.key}
                secret={fields.find((s) => s.secret)!.key}
                draft={draft}
              />
            )}
          </fieldset>
        );
      })}
      <div class="row save-bar">
        <button type="submit" disabled={busy}>{busy ? "Saving…" : "Save settings"}</button>
        {dirty > 0 && (
          <button type="button" class="secondary discard" onClick={() => adopt(view)}>
            Discard
          </button>
        )}
        <span class="muted small unsaved">
          {dirty > 0 ? `${dirty} unsaved change${dirty === 1 ? "" : "s"}` : ""}
        </span>
        {status && <span role="status" class={`notice ${status.kind}`}>{status.text}</span>}
      </div>
    </form>
  );
}

/** What would be saved: every unlocked field whose draft differs (a typed secret replaces). */
function changes(view: SettingsView, draft: Draft): Record<string, unknown> {
  const patch: Record<string, unknown> = {};
  for (const s of Object.values(view.settings)) {
    if (s.locked) continue;
    const raw = draft[s.key];
    if (s.secret) {
      if (raw !== "") patch[s.key] = raw;
    } else if (raw !== draftOf(s)) patch[s.key] = toValue(s, raw);
  }
  return patch;
}
