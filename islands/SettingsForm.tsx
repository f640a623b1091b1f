/**
 * The settings page's form, generated from the settings schema's view: grouped fields with
 * descriptions and ranges, env-locked fields shown locked with their variable, secrets
 * write-only, server validation messages next to each field, reset to default.
 */
import { useState } from "preact/hooks";
import type { SettingsView, SettingView } from "../lib/settings/view.ts";
import type { ProviderStatus } from "../lib/providers/types.ts";
import { api } from "./api.ts";
import { statusLine } from "./llm_status.ts";

/** Props: the settings document as `GET /api/settings` returns it. */
export interface SettingsFormProps {
  view: SettingsView;
}

type Draft = Record<string, string | boolean>;

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
export function SettingsForm({ view: initial }: SettingsFormProps) {
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

  async function save(e: Event) {
    e.preventDefault();
    const patch: Record<string, unknown> = {};
    for (const s of Object.values(view.settings)) {
      if (s.locked) continue;
      const raw = draft[s.key];
      if (s.secret) {
        if (raw !== "") patch[s.key] = raw;
      } else if (raw !== draftOf(s)) patch[s.key] = toValue(s, raw);
    }
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
      setStatus({ kind: "ok", text: `Saved ${Object.keys(patch).length} setting(s).` });
    } else {
      const byKey: Record<string, string> = {};
      for (const issue of res.error.issues ?? []) byKey[issue.key] = issue.message;
      setErrors(byKey);
      setStatus({ kind: "bad", text: res.error.message });
    }
  }

  async function reset(key: string) {
    const res = await api<SettingsView>("DELETE", `/api/settings/${encodeURIComponent(key)}`);
    if (res.ok) {
      adopt(res.data);
      setErrors((old) => ({ ...old, [key]: "" }));
      setStatus({ kind: "ok", text: `${key} reset to its default.` });
    } else setStatus({ kind: "bad", text: res.error.message });
  }

  const groups = Object.entries(view.groups);
  return (
    <form class="settings-form" onSubmit={save} noValidate>
      {view.warnings.map((w) => <p class="notice warn" key={w}>{w}</p>)}
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
              />
            ))}
            {fields.some((s) => s.secret) && (
              <TestConnection
                id={group}
                name={title}
                url={fields.find((s) => s.ui === "url")?.key}
                secret={fields.find((s) => s.secret)!.key}
                draft={draft}
              />
            )}
          </fieldset>
        );
      })}
      <div class="row">
        <button type="submit" disabled={busy}>{busy ? "Saving…" : "Save settings"}</button>
        {status && <span role="status" class={`notice ${status.kind}`}>{status.text}</span>}
      </div>
    </form>
  );
}

/**
 * Probes a provider with the form's unsaved URL and key (`POST /api/providers/:id/test`), so a
 * person can check an address before saving it. An empty key field means "the saved key".
 */
function TestConnection(
  { id, name, url, secret, draft }: {
    id: string;
    name: string;
    url?: string;
    secret: string;
    draft: Draft;
  },
) {
  const [result, setResult] = useState<[string, string] | null>(null);
  async function test() {
    setResult(["", `Testing ${name}…`]);
    const key = String(draft[secret] ?? "");
    const res = await api<ProviderStatus>("POST", `/api/providers/${id}/test`, {
      ...(url ? { url: String(draft[url] ?? "") } : {}),
      apiKey: key === "" ? null : key,
    });
    if (!res.ok) return setResult(["bad", res.error.message]);
    const p = { id, name, keyLabel: "API key", keySet: key !== "" };
    const [cls, text] = statusLine(p, res.data, null);
    const ok = res.data.state === "available";
    setResult([cls, ok ? `${text} (${res.data.latencyMs} ms)` : text]);
  }
  return (
    <div class="row test-row">
      <button type="button" class="secondary small" onClick={test}>Test connection</button>
      {result && (
        <span class="test-result" role="status">
          <span class={`dot ${result[0]}`} aria-hidden="true" />
          {result[1]}
        </span>
      )}
    </div>
  );
}

function Field(
  { s, value, error, onInput, onReset }: {
    s: SettingView;
    value: string | boolean;
    error?: string;
    onInput: (v: string | boolean) => void;
    onReset: () => void;
  },
) {
  const id = `setting-${s.key.replaceAll(".", "-")}`;
  const describedBy = `${id}-desc${error ? ` ${id}-err` : ""}`;
  const common = {
    id,
    name: s.key,
    disabled: s.locked,
    "aria-describedby": describedBy,
    "aria-invalid": error ? true : undefined,
  };
  const text = (e: Event) => onInput((e.currentTarget as HTMLInputElement).value);
  let control;
  if (s.ui === "checkbox") {
    control = (
      <input
        {...common}
        type="checkbox"
        checked={value === true}
        onChange={(e) => onInput((e.currentTarget as HTMLInputElement).checked)}
      />
    );
  } else if (s.ui === "select") {
    control = (
      <select {...common} value={String(value)} onChange={text}>
        {(s.options ?? []).map((o) => <option key={o.value} value={o.value}>{o.label}</option>)}
      </select>
    );
  } else if (s.secret) {
    const set = (s.value as { set: boolean }).set;
    control = (
      <input
        {...common}
        type="password"
        autocomplete="off"
        value={String(value)}
        placeholder={set ? "•••••••• (set; type to replace)" : "not set"}
        onInput={text}
      />
    );
  } else {
    control = (
      <input
        {...common}
        type={(s.ui === "url" ? "url" : s.ui === "text" ? "text" : "number") as "text"}
        inputMode={s.ui === "number" || s.ui === "range" ? "decimal" as const : undefined}
        min={s.min}
        max={s.max}
        step={s.step ?? (s.ui === "number" ? 1 : undefined)}
        value={String(value)}
        placeholder={s.default === null ? "server default" : String(s.default)}
        onInput={text}
      />
    );
  }
  return (
    <div class="field" data-key={s.key}>
      <label for={id}>{s.label}</label>
      <p class="desc" id={`${id}-desc`}>
        {s.description}
        {s.min !== undefined && s.max !== undefined && ` (${s.min} to ${s.max})`}{" "}
        <code>{s.key}</code>
      </p>
      {control}
      {s.locked && <p class="lock">Locked: set by the environment variable {s.env}</p>}
      {!s.locked && s.source === "kv" && (
        <button type="button" class="secondary small" onClick={onReset}>Reset to default</button>
      )}
      {error && <p class="err" id={`${id}-err`} role="alert">{error}</p>}
    </div>
  );
}
