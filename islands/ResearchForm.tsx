/**
 * The Research page: the question, the mode, and the "LLM" panel (provider, endpoint and key,
 * live status, model picker, sampling controls). Every LLM control is bound to a setting and
 * saved with a debounced PATCH, so what the person sets here is what the next run (and the
 * settings page) uses; env-locked settings are shown disabled with their variable.
 */
import type { JSX } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import type { ModelInfo, ProviderStatus, UpstreamError } from "../lib/providers/types.ts";
import { api, type ApiError } from "./api.ts";
import { clearDraft, readDraft, writeDraft } from "./draft.ts";

/** One setting as the panel needs it (a slice of the settings view). */
export interface PanelField {
  value: unknown;
  locked: boolean;
  env: string;
  min?: number;
  max?: number;
  step?: number;
}

/** A provider as the panel lists it. */
export interface PanelProvider {
  id: string;
  name: string;
  local: boolean;
  urlKey: string | null;
  keyKey: string;
}

/** Props: providers and the LLM settings, all plain JSON. */
export interface ResearchFormProps {
  providers: PanelProvider[];
  fields: Record<string, PanelField>;
}

const SAVE_DELAY_MS = 500;
const POLL_MS = 10_000;

function initialValues(fields: Record<string, PanelField>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, f] of Object.entries(fields)) {
    out[k] = typeof f.value === "object" || f.value == null ? "" : String(f.value);
  }
  return out;
}

function kb(n: number | null): string {
  return n == null ? "?" : n >= 1024 ? `${Math.round(n / 1024)}k` : String(n);
}

/** The one-line status shown next to the dot: [css class, text]. */
export function statusLine(
  p: PanelProvider,
  s: ProviderStatus | null,
  loaded: number | null,
): [string, string] {
  if (!s) return ["", `Checking ${p.name}…`];
  const url = s.baseUrl || "(no URL set)";
  const lm = p.id === "lmstudio";
  switch (s.state) {
    case "available": {
      const n = loaded ?? s.modelCount ?? 0;
      return [
        "ok",
        `${p.name} is running · ${n} model${n === 1 ? "" : "s"} ${
          loaded == null ? "available" : "loaded"
        }`,
      ];
    }
    case "unreachable":
      return [
        "bad",
        `Not reachable at ${url} — ${
          lm
            ? "start the server in LM Studio's Developer tab"
            : `start ${p.name} or check the URL and port`
        }`,
      ];
    case "timeout":
      return [
        "bad",
        `No answer from ${url} within 1 s — the server may be loading a model or overloaded`,
      ];
    case "wrong_path":
      return [
        "bad",
        `${url} answered, but not as an OpenAI-compatible server — check the URL and port`,
      ];
    case "auth_required":
      return [
        "warn",
        `${p.name} at ${url} requires an API key — ${
          lm
            ? "create one under Developer → Server Settings → Manage Tokens and enter it below"
            : "enter it below"
        }`,
      ];
    case "no_models":
      return [
        "warn",
        `${p.name} is running but has no models — ${
          lm ? "load one in LM Studio (or `lms load`)" : "load or pull one"
        }`,
      ];
  }
  return ["bad", s.error?.message ?? String(s.state)];
}

/** The research page island. */
export function ResearchForm({ providers, fields }: ResearchFormProps) {
  const [vals, setVals] = useState(() => initialValues(fields));
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [saved, setSaved] = useState("");
  const [status, setStatus] = useState<ProviderStatus | null>(null);
  const [statusErr, setStatusErr] = useState("");
  const [models, setModels] = useState<ModelInfo[] | null>(null);
  const [modelsErr, setModelsErr] = useState("");
  const [query, setQuery] = useState("");
  const [mode, setMode] = useState("quick");
  const [busy, setBusy] = useState(false);
  const [submitErr, setSubmitErr] = useState<ApiError | null>(null);
  const pending = useRef<Record<string, unknown>>({});
  const timer = useRef<ReturnType<typeof setTimeout>>(undefined);
  const saving = useRef<Promise<void>>(Promise.resolve());
  const [version, setVersion] = useState(0);

  // The question draft is kept per tab: restore it after hydration (the server renders none).
  useEffect(() => {
    const d = readDraft("research");
    if (!d) return;
    setQuery(d.query);
    if (d.mode === "quick" || d.mode === "detailed") setMode(d.mode);
  }, []);
  useEffect(() => writeDraft("research", { query, mode }), [query, mode]);

  const provider = providers.find((p) => p.id === vals["llm.provider"]) ?? providers[0];
  const pid = provider.id;

  async function loadStatus() {
    const r = await api<ProviderStatus>("GET", `/api/providers/${pid}/status`);
    if (r.ok) {
      setStatus(r.data);
      setStatusErr("");
    } else setStatusErr(r.error.message);
  }

  async function loadModels() {
    setModelsErr("");
    const r = await api<{ models: ModelInfo[] }>("GET", `/api/providers/${pid}/models?type=chat`);
    if (r.ok) setModels(r.data.models.filter((m) => m.type !== "embedding"));
    else {
      setModels(null);
      setModelsErr(r.error.message);
    }
  }

  useEffect(() => {
    setStatus(null);
    setModels(null);
    loadStatus();
    loadModels();
    const t = setInterval(() => document.hidden || loadStatus(), POLL_MS);
    return () => clearInterval(t);
  }, [pid, version]);

  async function flush(): Promise<void> {
    clearTimeout(timer.current);
    const patch = pending.current;
    pending.current = {};
    if (Object.keys(patch).length === 0) return;
    setSaved("Saving…");
    const r = await api("PATCH", "/api/settings", patch);
    if (r.ok) {
      setErrors((e) => {
        const next = { ...e };
        for (const k of Object.keys(patch)) delete next[k];
        return next;
      });
      setSaved("Saved");
      // A new URL or key: the server dropped its cached status, so probe again.
      if (Object.keys(patch).some((k) => /\.(url|api_key)$/.test(k))) setVersion((v) => v + 1);
      return;
    }
    const byKey: Record<string, string> = {};
    for (const i of r.error.issues ?? []) byKey[i.key] = i.message;
    setErrors((e) => ({ ...e, ...byKey }));
    setSaved(`Not saved: ${r.error.message}`);
    // The PATCH is all-or-nothing: retry the keys that were fine on their own.
    const rest = Object.fromEntries(Object.entries(patch).filter(([k]) => !(k in byKey)));
    if (Object.keys(byKey).length && Object.keys(rest).length) {
      pending.current = { ...rest, ...pending.current };
      await flush();
    }
  }

  function set(key: string, raw: string, typed: unknown = raw) {
    setVals((v) => ({ ...v, [key]: raw }));
    if (fields[key]?.locked) return;
    pending.current[key] = typed;
    clearTimeout(timer.current);
    timer.current = setTimeout(() => {
      saving.current = saving.current.then(flush);
    }, SAVE_DELAY_MS);
  }

  function num(key: string, raw: string) {
    const n = Number(raw);
    set(key, raw, raw.trim() !== "" && Number.isFinite(n) ? n : raw);
  }

  async function submit(e: Event) {
    e.preventDefault();
    if (busy) return;
    setBusy(true);
    setSubmitErr(null);
    saving.current = saving.current.then(flush);
    await saving.current;
    const body: Record<string, unknown> = { query, mode, provider: pid };
    if (vals["llm.model"].trim()) body.model = vals["llm.model"].trim();
    for (const [k, name] of [["llm.temperature", "temperature"], ["llm.max_tokens", "maxTokens"]]) {
      const n = Number(vals[k]);
      if (!errors[k] && vals[k].trim() !== "" && Number.isFinite(n)) body[name] = n;
    }
    const r = await api<{ id: string }>("POST", "/api/research", body);
    if (r.ok) {
      clearDraft("research");
      location.href = `/research/${encodeURIComponent(r.data.id)}`;
    }
    else {
      setSubmitErr(r.error);
      setBusy(false);
    }
  }

  // A 502 carries the provider's typed error: show its title, message and hint.
  const up = (submitErr?.upstream ?? undefined) as UpstreamError | undefined;
  const loaded = models ? models.filter((m) => m.state === "loaded").length : null;
  const [cls, line] = statusLine(provider, status, loaded);
  const model = vals["llm.model"];
  const ctxKey = provider.local ? "llm.local_context_window_size" : "llm.context_window_size";

  function control(key: string, label: string, input: (id: string) => JSX.Element) {
    const id = `f-${key.replaceAll(".", "-")}`;
    const f = fields[key];
    return (
      <div class="field" key={key}>
        <label for={id}>{label}</label>
        {input(id)}
        {f?.locked && <p class="lock">Locked: set by {f.env}</p>}
        {errors[key] && <p class="err" id={`${id}-err`} role="alert">{errors[key]}</p>}
      </div>
    );
  }

  function common(key: string, id: string) {
    return {
      id,
      name: key,
      disabled: fields[key]?.locked,
      "aria-invalid": errors[key] ? true : undefined,
      "aria-describedby": errors[key] ? `${id}-err` : undefined,
    };
  }

  return (
    <form class="research" onSubmit={submit}>
      <div class="panel ask">
        <label for="query">Question</label>
        <textarea
          id="query"
          name="query"
          required
          rows={4}
          value={query}
          placeholder="What would you like to know?"
          aria-describedby="query-help"
          onInput={(e) => setQuery(e.currentTarget.value)}
          onKeyDown={(e) => {
            if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
              e.preventDefault();
              e.currentTarget.form?.requestSubmit();
            }
          }}
        />
        <p class="desc muted" id="query-help">Enter to start, Shift+Enter for a new line.</p>
        <div class="row spread">
          <fieldset class="modes">
            <legend class="sr-only">Mode</legend>
            {[["quick", "Quick answer"], ["detailed", "Detailed report"]].map(([v, l]) => (
              <label key={v} class="choice">
                <input
                  type="radio"
                  name="mode"
                  value={v}
                  checked={mode === v}
                  onChange={() =>
                    setMode(v)}
                />{" "}
                {l}
              </label>
            ))}
          </fieldset>
          <button type="submit" disabled={busy || !query.trim()}>
            {busy ? "Starting…" : "Start research"}
          </button>
        </div>
        {submitErr && (
          <div class="notice bad submit-error" role="alert">
            <strong>{up?.title ?? "Could not start"}</strong> {up?.message ?? submitErr.message}
            {up?.hint && <p class="hint">{up.hint}</p>}
          </div>
        )}
      </div>

      <fieldset class="panel llm">
        <legend>
          <h2>LLM</h2>
        </legend>
        <p class="status-line" role="status" aria-live="polite">
          <span class={`dot ${cls}`} aria-hidden="true" />
          <span class="status-text">{statusErr ? `Could not check: ${statusErr}` : line}</span>
          {cls && cls !== "ok" && <a href="/status">Troubleshoot</a>}
        </p>
        {status?.dockerLoopback && status.hint && <p class="notice warn">{status.hint}</p>}
        <div class="grid">
          {control("llm.provider", "Provider", (id) => (
            <select
              {...common("llm.provider", id)}
              value={pid}
              onChange={(e) => set("llm.provider", e.currentTarget.value)}
            >
              {providers.map((p) => <option key={p.id} value={p.id}>{p.name}</option>)}
            </select>
          ))}
          {provider.urlKey && control(provider.urlKey, `${provider.name} endpoint`, (id) => (
            <input
              {...common(provider.urlKey!, id)}
              type="url"
              inputMode="url"
              spellcheck={false}
              value={vals[provider.urlKey!]}
              onInput={(e) => set(provider.urlKey!, e.currentTarget.value)}
            />
          ))}
          {control(provider.keyKey, `API key${provider.local ? " (optional)" : ""}`, (id) => (
            <input
              {...common(provider.keyKey, id)}
              type="password"
              autocomplete="off"
              value={vals[provider.keyKey]}
              placeholder={(fields[provider.keyKey]?.value as { set?: boolean })?.set
                ? "•••••••• (set; type to replace)"
                : "not set"}
              onInput={(e) => set(provider.keyKey, e.currentTarget.value)}
            />
          ))}
        </div>

        <fieldset class="models">
          <legend>Model</legend>
          <div class="row">
            <input
              {...common("llm.model", "f-llm-model")}
              type="text"
              aria-label="Model id"
              class="grow"
              spellcheck={false}
              placeholder="Automatic: the one loaded model"
              value={model}
              onInput={(e) => set("llm.model", e.currentTarget.value)}
            />
            <button
              type="button"
              class="secondary"
              onClick={() => {
                loadStatus();
                loadModels();
              }}
            >
              Refresh
            </button>
          </div>
          {fields["llm.model"]?.locked && (
            <p class="lock">Locked: set by {fields["llm.model"].env}</p>
          )}
          {modelsErr && <p class="err">Could not list models: {modelsErr}</p>}
          {models && (
            <ul class="model-list" aria-label="Available models">
              {[{ id: "" } as ModelInfo, ...models].map((m) => (
                <li key={m.id}>
                  <label class="choice">
                    <input
                      type="radio"
                      name="model-pick"
                      value={m.id}
                      checked={model === m.id}
                      disabled={fields["llm.model"]?.locked}
                      onChange={() => set("llm.model", m.id)}
                    />
                    {m.id
                      ? (
                        <span class="model-info">
                          <span class="model-name">{m.displayName || m.id}</span>
                          <span class={`badge ${m.state}`}>
                            {m.state === "not-loaded" ? "not loaded" : m.state}
                          </span>
                          <span class="muted small">
                            {m.state === "loaded"
                              ? `ctx ${kb(m.loadedContextLength)} of ${kb(m.maxContextLength)}`
                              : `max ctx ${kb(m.maxContextLength)}`}
                          </span>
                        </span>
                      )
                      : <span class="model-name">Automatic (the one loaded model)</span>}
                  </label>
                </li>
              ))}
            </ul>
          )}
        </fieldset>

        <div class="grid">
          {control("llm.temperature", `Temperature ${vals["llm.temperature"]}`, (id) => (
            <input
              {...common("llm.temperature", id)}
              type="range"
              min={0}
              max={2}
              step={0.05}
              value={vals["llm.temperature"]}
              onInput={(e) => num("llm.temperature", e.currentTarget.value)}
            />
          ))}
          {control("llm.max_tokens", "Max tokens", (id) => (
            <input
              {...common("llm.max_tokens", id)}
              type="number"
              min={1}
              value={vals["llm.max_tokens"]}
              onInput={(e) => num("llm.max_tokens", e.currentTarget.value)}
            />
          ))}
          {control(ctxKey, "Context window", (id) => (
            <input
              {...common(ctxKey, id)}
              type="number"
              min={512}
              step={512}
              value={vals[ctxKey]}
              onInput={(e) => num(ctxKey, e.currentTarget.value)}
            />
          ))}
        </div>
        <p class="muted small" role="status">{saved}</p>
      </fieldset>
    </form>
  );
}
