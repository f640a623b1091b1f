/**
 * One settings field (label from the schema, description and range, locked state with its
 * environment variable, reset to default) and the per-provider "Test connection" probe.
 */
import { useState } from "preact/hooks";
import type { SettingView } from "../lib/settings/view.ts";
import type { ModelInfo, ProviderStatus } from "../lib/providers/types.ts";
import type { FamilyUi } from "../lib/providers/ui_text.ts";
import { api } from "./api.ts";
import { chatModels, statusLine } from "./llm_status.ts";
import { ModelPicker } from "./ModelPicker.tsx";

/** The form's unsaved values by setting key. */
export type Draft = Record<string, string | boolean>;

/**
 * Probes a provider with the form's unsaved URL and key (`POST /api/providers/:id/test`), so a
 * person can check an address before saving it. An empty key field means "the saved key".
 */
export function TestConnection(
  { id, name, ui, url, secret, draft }: {
    id: string;
    name: string;
    /** The provider's status-line texts (its adapter's `hints.ui.line`). */
    ui: FamilyUi["line"];
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
    const p = { name, ui, keyLabel: "API key", keySet: key !== "" };
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

/** One field; `models` (for the model setting) adds the same picker the Research page has. */
export function Field(
  { s, value, error, onInput, onReset, models }: {
    s: SettingView;
    value: string | boolean;
    error?: string;
    onInput: (v: string | boolean) => void;
    onReset: () => void;
    models?: ModelInfo[] | null;
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
        {s.min !== undefined && s.max !== undefined && ` (${s.min} to ${s.max})`}
      </p>
      {control}
      {models !== undefined && (
        <ModelPicker
          models={chatModels(models)}
          value={String(value)}
          locked={s.locked}
          onPick={onInput}
        />
      )}
      {s.locked && <p class="lock">Locked: set by the environment variable {s.env}</p>}
      {!s.locked && s.source === "kv" && (
        <button type="button" class="secondary small" onClick={onReset}>Reset to default</button>
      )}
      {error && <p class="err" id={`${id}-err`} role="alert">{error}</p>}
    </div>
  );
}
