/**
 * The Research page: the question, the mode, and the "LLM" panel (provider, endpoint and key,
 * live status, model picker, sampling controls). Every LLM control is bound to a setting and
 * saved with a debounced PATCH, so what the person sets here is what the next run (and the
 * settings page) uses; env-locked settings are shown disabled with their variable.
 */
import type { JSX } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import type { ModelInfo, ProviderStatus, UpstreamError } from "../lib/providers/types.ts";
import type { FamilyUi } from "../lib/providers/ui_text.ts";
import { api, type ApiError } from "./api.ts";
import { clearDraft, readDraft, writeDraft } from "./draft.ts";
import { chatModels, statusLine } from "./llm_status.ts";
import { ModelPicker } from "./ModelPicker.tsx";
import { SourcePicker, sourcesBody } from "./SourcePicker.tsx";
import { PreflightNote, type PreflightNoteProps } from "./PreflightNote.tsx";

/** One setting as the panel needs it (a slice of the settings view). */
export interface PanelField {
  value: unknown;
  /** The label the settings page shows for it (one label per setting, from the schema). */
  label: string;
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
  /** The adapter can load models (LM Studio; it also needs the 0.4 model API at runtime). */
  canLoad?: boolean;
  /** The server loads a picked, not-loaded model on its first request (the adapter's `jit`). */
  jit?: boolean;
  /** The family's status-line texts (the adapter's `hints.ui.line`). */
  ui: FamilyUi["line"];
}

/** Props: providers and the LLM settings, all plain JSON. */
export interface ResearchFormProps {
  providers: PanelProvider[];
  fields: Record<string, PanelField>;
  /** The Library's collections, and those ticked at first (from the settings). */
  collections: { id: string; name: string }[];
  picked: string[];
}

const SAVE_DELAY_MS = 500;
/** Status re-checks: slow while the server is fine, quick while waiting for it to come up. */
const POLL_MS = 10_000;
const POLL_DOWN_MS = 3_000;

function initialValues(fields: Record<string, PanelField>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, f] of Object.entries(fields)) {
    out[k] = typeof f.value === "object" || f.value == null ? "" : String(f.value);
  }
  return out;
}

/** The research page island. */
export function ResearchForm({ providers, fields, collections: all, picked }: ResearchFormProps) {
  const [vals, setVals] = useState(() => initialValues(fields));
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [saved, setSaved] = useState("");
  const [status, setStatus] = useState<ProviderStatus | null>(null);
  const [statusErr, setStatusErr] = useState("");
  const [models, setModels] = useState<ModelInfo[] | null>(null);
  const [modelsErr, setModelsErr] = useState("");
  const [query, setQuery] = useState("");
  const [mode, setMode] = useState("quick");
  const [engines, setEngines] = useState([String(fields["search.engine"]?.value ?? "none")]);
  const [collections, setCollections] = useState(picked);
  const sources = sourcesBody(engines, collections, all.length);
  const [busy, setBusy] = useState(false);
  const [submitErr, setSubmitErr] = useState<ApiError | null>(null);
  const [source, setSource] = useState("");
  const [preflight, setPreflight] = useState<
    Omit<PreflightNoteProps, "onStart" | "onDismiss"> | null
  >(null);
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

  const lastState = useRef("");
  async function loadStatus() {
    const r = await api<ProviderStatus>("GET", `/api/providers/${pid}/status`);
    if (r.ok) {
      setStatus(r.data);
      setStatusErr("");
      // The server came up, went down or now wants a token: the model list changed with it.
      if (lastState.current && lastState.current !== r.data.state) loadModels();
      lastState.current = r.data.state;
    } else setStatusErr(r.error.message);
  }

  async function loadModels() {
    setModelsErr("");
    const r = await api<{ models: ModelInfo[]; source: string }>(
      "GET",
      `/api/providers/${pid}/models?type=chat`,
    );
    if (r.ok) {
      setModels(chatModels(r.data.models));
      setSource(r.data.source);
    } else {
      setModels(null);
      setModelsErr(r.error.message);
    }
  }

  useEffect(() => {
    setStatus(null);
    setModels(null);
    lastState.current = "";
    loadStatus();
    loadModels();
    let t: ReturnType<typeof setTimeout>;
    const poll = () => {
      const ok = lastState.current === "available";
      t = setTimeout(async () => {
        if (!document.hidden) await loadStatus();
        poll();
      }, ok ? POLL_MS : POLL_DOWN_MS);
    };
    poll();
    return () => clearTimeout(t);
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
    const named = Object.keys(byKey).map((k) => fields[k]?.label ?? k);
    const failed = named.length
      ? `Not saved: check ${named.join(", ")}`
      : `Not saved: ${r.error.message}`;
    setSaved(failed);
    // The PATCH is all-or-nothing: retry the keys that were fine on their own.
    const rest = Object.fromEntries(Object.entries(patch).filter(([k]) => !(k in byKey)));
    if (Object.keys(byKey).length && Object.keys(rest).length) {
      pending.current = { ...rest, ...pending.current };
      await flush();
      setSaved(failed); // the others were saved; the refused one still needs attention
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
    await start(false);
  }

  /** Starts the run; unless `checked`, asks the pre-flight first and warns when it won't fit. */
  async function start(checked: boolean, opts: { quick?: boolean } = {}) {
    if (busy || !sources) return;
    setBusy(true);
    setSubmitErr(null);
    setPreflight(null);
    saving.current = saving.current.then(flush);
    await saving.current;
    const body: Record<string, unknown> = {
      query,
      mode: opts.quick ? "quick" : mode,
      provider: pid,
      sources,
    };
    if (vals["llm.model"].trim()) body.model = vals["llm.model"].trim();
    for (const [k, name] of [["llm.temperature", "temperature"], ["llm.max_tokens", "maxTokens"]]) {
      const n = Number(vals[k]);
      if (!errors[k] && vals[k].trim() !== "" && Number.isFinite(n)) body[name] = n;
    }
    if (!checked) {
      const p = await api<PreflightNoteProps & { fits: boolean }>(
        "POST",
        "/api/research/preflight",
        body,
      );
      if (p.ok && !p.data.fits) {
        setPreflight({ ...p.data, canStartAnyway: p.data.action?.type !== "load" });
        setBusy(false);
        return;
      }
    }
    const r = await api<{ id: string }>("POST", "/api/research", body);
    if (r.ok) {
      clearDraft("research");
      location.href = `/research/${encodeURIComponent(r.data.id)}`;
    } else {
      setSubmitErr(r.error);
      setBusy(false);
    }
  }

  const keyField = fields[provider.keyKey];
  const keyLabel = keyField?.label ?? "API key";
  const keySet = vals[provider.keyKey] !== "" || !!(keyField?.value as { set?: boolean })?.set;
  const [cls, line] = statusLine({ ...provider, keyLabel, keySet }, status, models);
  const ready = status?.state === "available";
  const label = (key: string) => fields[key]?.label ?? key;
  const needsKey = status?.state === "auth_required";
  const model = vals["llm.model"];
  const budgetNote = maxTokensNote(Number(vals["llm.max_tokens"]), models, model);
  const ctxKey = provider.local ? "llm.local_context_window_size" : "llm.context_window_size";

  function control(key: string, label: string, input: (id: string) => JSX.Element, note = "") {
    const id = `f-${key.replaceAll(".", "-")}`;
    const f = fields[key];
    return (
      <div class="field" key={key}>
        <label for={id}>
          {label}
          {note && <span class="muted">{` ${note}`}</span>}
        </label>
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
          <button type="submit" disabled={busy || !query.trim() || !sources}>
            {busy ? "Starting…" : "Start research"}
          </button>
        </div>
        <SourcePicker
          value={engines}
          onChange={setEngines}
          list={all}
          collections={collections}
          onCollections={setCollections}
        />
        {preflight && (
          <PreflightNote
            {...preflight}
            onStart={(o) => start(true, o)}
            onDismiss={() => setPreflight(null)}
          />
        )}
        {submitErr && (
          <SubmitError
            error={submitErr}
            ready={ready}
            picker={!!models?.length}
            jit={provider.jit ? provider.name : ""}
          />
        )}
      </div>

      <fieldset class="panel llm">
        <legend>
          <h2>LLM</h2>
        </legend>
        <p class="status-line" id="llm-status" tabIndex={-1} role="status" aria-live="polite">
          <span class={`dot ${cls}`} aria-hidden="true" />
          <span class="status-text">{statusErr ? `Could not check: ${statusErr}` : line}</span>
          {cls && cls !== "ok" && <a href="/status">Troubleshoot</a>}
        </p>
        {status?.dockerLoopback && status.hint && <p class="notice warn">{status.hint}</p>}
        <div class="grid">
          {control("llm.provider", label("llm.provider"), (id) => (
            <select
              {...common("llm.provider", id)}
              value={pid}
              onChange={(e) => set("llm.provider", e.currentTarget.value)}
            >
              {providers.map((p) => <option key={p.id} value={p.id}>{p.name}</option>)}
            </select>
          ))}
          {provider.urlKey && control(provider.urlKey, label(provider.urlKey), (id) => (
            <input
              {...common(provider.urlKey!, id)}
              type="url"
              inputMode="url"
              spellcheck={false}
              value={vals[provider.urlKey!]}
              onInput={(e) => set(provider.urlKey!, e.currentTarget.value)}
            />
          ))}
          {control(provider.keyKey, keyLabel, (id) => (
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
          ), needsKey ? "(required by this server)" : provider.local ? "(optional)" : "")}
        </div>

        <fieldset class="models" id="model-picker">
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
          {/* When the server is down the status line already says so: no second message. */}
          {modelsErr && ready && <p class="err">Could not list models: {modelsErr}</p>}
          <ModelPicker
            models={models}
            value={model}
            locked={!!fields["llm.model"]?.locked}
            onPick={(id) => set("llm.model", id)}
            onLoaded={provider.canLoad && source === "lmstudio-v1" ? () => loadModels() : undefined}
          />
        </fieldset>

        <div class="grid">
          {control(
            "llm.temperature",
            `${label("llm.temperature")} ${vals["llm.temperature"]}`,
            (id) => (
              <input
                {...common("llm.temperature", id)}
                type="range"
                min={0}
                max={2}
                step={0.05}
                value={vals["llm.temperature"]}
                onInput={(e) => num("llm.temperature", e.currentTarget.value)}
              />
            ),
          )}
          {control("llm.max_tokens", label("llm.max_tokens"), (id) => (
            <>
              <input
                {...common("llm.max_tokens", id)}
                type="number"
                min={1}
                value={vals["llm.max_tokens"]}
                aria-describedby={budgetNote ? `${id}-note` : undefined}
                onInput={(e) => num("llm.max_tokens", e.currentTarget.value)}
              />
              {budgetNote && <p class="desc warn-text" id={`${id}-note`}>{budgetNote}</p>}
            </>
          ))}
          {control(ctxKey, label(ctxKey), (id) => (
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

/** The model a run would use: the picked one, or the one loaded model when none is picked. */
function targetModel(models: ModelInfo[] | null, picked: string): ModelInfo | null {
  if (!models) return null;
  if (picked) return models.find((m) => m.id === picked) ?? null;
  const loaded = models.filter((m) => m.state === "loaded");
  return loaded.length === 1 ? loaded[0] : null;
}

/**
 * A note when max tokens cannot fit the model's context: answers are capped at 80 % of the
 * loaded context (minus the prompt), so a larger number is silently not what the person gets.
 */
export function maxTokensNote(
  maxTokens: number,
  models: ModelInfo[] | null,
  picked: string,
): string {
  const m = targetModel(models, picked);
  const ctx = m?.loadedContextLength ?? null;
  if (!m || !ctx || !Number.isFinite(maxTokens) || maxTokens <= ctx * 0.8) return "";
  return `${m.displayName || m.id} is loaded with a ${
    ctx.toLocaleString("en-US")
  }-token context: answers are capped at about ${
    Math.floor(ctx * 0.8).toLocaleString("en-US")
  } tokens. Reload it with a larger context to allow more.`;
}

/**
 * Why a submit was refused, without repeating the status line: when the server is down or wants
 * a token, this points at the one message above; a missing model points at the picker.
 */
function SubmitError({ error, ready, picker, jit }: {
  error: ApiError;
  ready: boolean;
  picker: boolean;
  /** The provider's name when it loads a picked model on first use (LM Studio), else "". */
  jit: string;
}) {
  // A 502 (or a 400 about the model) carries the provider's typed error.
  const up = (error.upstream ?? undefined) as UpstreamError | undefined;
  if (up && !ready && up.kind !== "model_not_found") {
    return (
      <p class="notice bad submit-error" role="alert">
        Nothing was started: the LLM is not ready. <a href="#llm-status">See the status below</a>
        {" "}
        for the one thing to fix.
      </p>
    );
  }
  if (up?.kind === "model_not_found" && picker) {
    return (
      <p class="notice bad submit-error" role="alert">
        <strong>Pick a model</strong>: {up.message.replace(/: pick one$/, "")}.{" "}
        <a href="#model-picker">Pick a model below</a>
        {jit ? ` (${jit} loads it when the run starts).` : "."}
      </p>
    );
  }
  return (
    <div class="notice bad submit-error" role="alert">
      <strong>{up?.title ?? "Could not start"}</strong> {up?.message ?? error.message}
      {up?.hint && <p class="hint">{up.hint}</p>}
    </div>
  );
}
