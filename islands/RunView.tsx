/**
 * The run view: follows a research run's event stream (`fetch` + SSE parsing, not EventSource, so
 * a dropped connection resumes with `Last-Event-ID` and a reload simply replays from the start),
 * renders the answer as sanitised Markdown as it streams, and shows progress (the server's pipeline
 * steps and the one running now), live timings (the server's measured first-token time as soon
 * as it is known, a counting wait before), the model that answered, the model's reasoning
 * collapsed under the answer, Stop, copy and download. The Markdown chunk is imported lazily.
 * When the text is rearranged or re-rendered the reader stays at the block they were reading.
 *
 * Tokens never go through Preact state: they go to a `StreamRenderer` that owns the answer's
 * element, so streaming does not re-render the component per token.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import type { PipelineStep } from "../lib/research/schema.ts";
import type { UpstreamError } from "../lib/providers/types.ts";
import { api } from "./api.ts";
import { ContextFix } from "./ContextFix.tsx";
import { type RetryRequest, RunActions } from "./RunActions.tsx";
import {
  answerPercent,
  currentStep,
  formatCount,
  type PipeStep,
  settleSteps,
  stallNote,
  type SubProgress,
  viewSteps,
} from "./run_progress.ts";
import { keepInView } from "./scroll_anchor.ts";
import { ResumeRun } from "./ResumeRun.tsx";
import { applyRunEvent } from "./run_text.ts";
import { useFollow } from "./use_follow.ts";
import { createStreamRenderer, type MarkdownFn, type StreamRenderer } from "./stream_render.ts";
import { SourcesPanel } from "./SourcesPanel.tsx";
import { NoSourcesBadge } from "./NoSourcesBadge.tsx";
import { createSourcesFeed } from "./sources_feed.ts";

/** Props: the run as the server knows it at page load, plus where the Markdown chunk lives. */
export interface RunViewProps {
  id: string;
  query: string;
  mode: string;
  status: string;
  model: string;
  providerName: string;
  markdownUrl: string;
  /** What Retry sends: the question with the run's frozen settings. */
  retry: RetryRequest;
  /** Tokens the answer may use (max tokens capped at 80 % of the context): quick progress. */
  answerBudget: number;
  /** Seconds of silence after which the request is given up (the request timeout). */
  idleLimitS: number | null;
  /** The run's pipeline as stored when the page was rendered (`step` events update it). */
  pipeline?: PipelineStep[];
  /** Why the run has no sources (model knowledge only), or null. */
  noSources?: string | null;
}

interface Metrics {
  ttftMs: number | null;
  tokensPerSecond: number | null;
  model: string | null;
  usage?: { completionTokens: number } | null;
}

type RunError = UpstreamError & { step?: number; fatal: boolean };

interface SseEvent {
  id: number;
  type: string;
  data: Record<string, unknown>;
}

const ACTIVE = ["queued", "running"];
/** A read that brings more deltas than this is a replay burst, not live generation. */
const BURST = 8;

/** Splits an SSE byte stream into events, one batch per network read. */
export async function readSse(
  body: ReadableStream<Uint8Array>,
  onBatch: (events: SseEvent[]) => void,
): Promise<void> {
  const reader = body.getReader();
  const dec = new TextDecoder();
  let buf = "";
  while (true) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += dec.decode(value, { stream: true }).replaceAll("\r\n", "\n");
    const frames = buf.split("\n\n");
    buf = frames.pop()!;
    const batch: SseEvent[] = [];
    for (const frame of frames) {
      let id = 0, type = "message", data = "";
      for (const line of frame.split("\n")) {
        const c = line.indexOf(":");
        if (c === 0) continue;
        const field = c < 0 ? line : line.slice(0, c);
        const v = c < 0 ? "" : line.slice(c + 1).replace(/^ /, "");
        if (field === "id") id = Number(v);
        else if (field === "event") type = v;
        else if (field === "data") data += (data ? "\n" : "") + v;
      }
      if (!data) continue;
      try {
        batch.push({ id, type, data: JSON.parse(data) });
      } catch { /* not JSON: ignore */ }
    }
    if (batch.length) onBatch(batch);
  }
}

function ms(n: number | null | undefined): string {
  return n == null ? "—" : n < 1000 ? `${Math.round(n)} ms` : `${(n / 1000).toFixed(1)} s`;
}

/** The run view island. */
export function RunView(props: RunViewProps) {
  const { id, mode } = props;
  const [status, setStatus] = useState(props.status);
  const [message, setMessage] = useState(ACTIVE.includes(props.status) ? "Connecting…" : "");
  const [percent, setPercent] = useState(0);
  const [pipe, setPipe] = useState<PipeStep[]>(
    (props.pipeline ?? []).map((p) => ({ ...p, state: p.state })),
  );
  const [sub, setSub] = useState<SubProgress>({ questions: [], current: 0, failed: [] });
  const [ended, setEnded] = useState(ACTIVE.includes(props.status) ? "" : props.status);
  const [error, setError] = useState<RunError | null>(null);
  const [stepErrors, setStepErrors] = useState<RunError[]>([]);
  const [metrics, setMetrics] = useState<Metrics | null>(null);
  const [tps, setTps] = useState<number | null>(null);
  // The server's measured time to the run's first token; before it, seconds waited so far.
  const [firstToken, setFirstToken] = useState<number | null>(null);
  const [waited, setWaited] = useState<number | null>(null);
  const [reasoning, setReasoning] = useState(0);
  const [note, setNote] = useState("");
  const [stopping, setStopping] = useState(false);
  const [stall, setStall] = useState("");
  const [hasText, setHasText] = useState(false);
  const docRef = useRef<HTMLDivElement>(null);
  // The plan streams as `aside` deltas: shown as it forms, outside Preact state like the answer.
  const planRef = useRef<HTMLPreElement>(null);
  // Reasoning streams the same way, into a collapsed block under the answer.
  const reasonRef = useRef<HTMLPreElement>(null);
  const follower = useRef<{ hold(): void; tracking(): boolean }>({
    hold() {},
    tracking: () => false,
  });
  const renderer = useRef<StreamRenderer | null>(null);
  const sourcesFeed = useRef(createSourcesFeed()).current;

  useEffect(() => {
    const r = createStreamRenderer(docRef.current!);
    renderer.current = r;
    let lastId = 0;
    // When the wait for the first token started, in this page's clock (0: not known yet).
    let waitFrom = 0;
    let tokenSeen = false;
    let reasoningTokens = 0;
    let reasoningChars = 0;
    let reasoningPart = "";
    const arrivals: number[] = [];
    let finished = false;
    const stop = new AbortController();
    let ticker: ReturnType<typeof setInterval> | undefined;

    import(props.markdownUrl).then((m: { renderMarkdown: MarkdownFn }) =>
      r.setMarkdown(m.renderMarkdown)
    ).catch(() => setNote("Could not load the Markdown renderer; showing plain text."));

    // Silence is measured from the last growth of the text, however it arrived.
    let lastArrival = 0;
    let lastLength = 0;
    function tick() {
      const now = performance.now();
      // Output is the answer and the reasoning: a model thinking is not a stalled stream.
      const produced = r.text.length + reasoningChars;
      if (produced !== lastLength) {
        lastLength = produced;
        lastArrival = now;
      }
      while (arrivals.length && now - arrivals[0] > 2000) arrivals.shift();
      const span = arrivals.length > 1 ? (now - arrivals[0]) / 1000 : 0;
      setTps(span > 0.25 ? arrivals.length / span : null);
      setWaited(!finished && !tokenSeen && waitFrom ? Math.floor((now - waitFrom) / 1000) : null);
      setStall(finished ? "" : stallNote(lastArrival ? now - lastArrival : 0, props.idleLimitS));
      // A quick answer's progress is its tokens (the answer's about 4 characters each, and the
      // reasoning's, which the same max tokens pays for) against its budget.
      if (mode !== "detailed" && !finished) {
        const tokens = r.text.length / 4 + reasoningTokens;
        setPercent((p) => Math.max(p, answerPercent(tokens, props.answerBudget)));
      }
    }

    /** Reasoning text goes straight to its element; a new part of a detailed run is labelled. */
    function addReasoning(d: Record<string, unknown>) {
      const el = reasonRef.current!;
      const part = `${d.phase} ${d.step ?? ""}`;
      if (mode === "detailed" && part !== reasoningPart) {
        const title = d.step
          ? `Sub-question ${d.step}`
          : d.phase === "synthesis"
          ? "Report"
          : "Plan";
        el.append(`${reasoningPart ? "\n\n" : ""}— ${title} —\n`);
      }
      reasoningPart = part;
      const text = String(d.text ?? "");
      el.append(text);
      reasoningChars += text.length;
      reasoningTokens += Number(d.tokens) || 0;
    }

    function handle(e: SseEvent, replay: boolean) {
      sourcesFeed.push(e);
      const d = e.data;
      switch (e.type) {
        case "status": {
          const s = String(d.status);
          setStatus(s);
          if (finished && ACTIVE.includes(s)) { // resumed after an earlier ending: stream again
            finished = false;
            setEnded("");
            setError(null); // the earlier attempt's error is not this attempt's
            const kept = r.text;
            r.reset();
            r.append(kept);
          }
          if (s === "running" && !replay && !waitFrom && !tokenSeen) waitFrom = performance.now();
          if (s === "queued") setMessage("Waiting for a free slot…");
          break;
        }
        case "progress": {
          setMessage(String(d.message ?? ""));
          // Never backwards: a note (thinking, waiting) carries its step's start, not the tokens.
          setPercent((p) => Math.max(p, Number(d.percent) || 0));
          if (Array.isArray(d.questions)) {
            const questions = d.questions.map(String);
            setSub((x) => ({ ...x, questions }));
          }
          if (d.phase === "research" && typeof d.step === "number") {
            const current = d.step;
            setSub((x) => ({ ...x, current }));
          }
          // A join while the model is still silent: the server says how long it has waited.
          if (d.waiting && typeof d.elapsedMs === "number" && !tokenSeen && !replay) {
            waitFrom ||= performance.now() - d.elapsedMs;
          }
          break;
        }
        case "step": {
          // Steps not heard of yet stay holes (a run stored before its pipeline was recorded).
          const step = { name: String(d.name), label: String(d.label), state: d.state } as PipeStep;
          setPipe((x) => Object.assign([...x], { [Number(d.index)]: step }));
          break;
        }
        case "first_token":
          tokenSeen = true;
          setFirstToken(Number(d.ttftMs));
          setWaited(null);
          break;
        case "reasoning":
          addReasoning(d);
          break;
        case "text":
          if ((d as { op?: string }).op === "append") applyRunEvent(r, e);
          else {
            // A rearrangement (the report moved first) or a cut: keep the reader's block in view.
            if ((d as { op?: string }).op === "compose") follower.current.hold();
            keepInView(docRef.current, () => applyRunEvent(r, e));
          }
          setHasText(r.text.trim() !== "");
          break;
        case "delta": {
          if (d.aside && planRef.current) planRef.current.textContent += String(d.text ?? "");
          // The text comes from the server's events alone (headings and notes are `text`).
          if (!applyRunEvent(r, e)) break;
          setHasText(true);
          tokenSeen = true;
          if (!replay) {
            const now = performance.now();
            arrivals.push(now);
            ticker ||= setInterval(tick, 500);
          }
          break;
        }
        case "metrics":
          // The run's totals (a detailed run also reports each call: those are not the run's).
          if (d.phase === undefined || d.phase === "total") setMetrics(d as unknown as Metrics);
          break;
        case "error":
          if (d.fatal) setError(d as unknown as RunError);
          else {
            setStepErrors((x) => [...x, d as unknown as RunError]);
            if (typeof d.step === "number") {
              const n = d.step;
              setSub((x) => ({ ...x, failed: [...x.failed, n] }));
            }
          }
          break;
        case "done": {
          finished = true;
          const s = String(d.status);
          setStatus(s);
          clearInterval(ticker);
          setEnded(s);
          setWaited(null);
          // The final full render: a reader following the end stays there by itself.
          if (follower.current.tracking()) r.finish();
          else keepInView(docRef.current, () => r.finish());
          break;
        }
      }
    }

    async function follow() {
      let attempts = 0;
      while (!finished && !stop.signal.aborted) {
        try {
          const res = await fetch(`/api/research/${encodeURIComponent(id)}/events`, {
            headers: lastId ? { "last-event-id": String(lastId) } : {},
            signal: stop.signal,
          });
          if (!res.ok || !res.body) {
            const body = await res.json().catch(() => null);
            setNote(body?.error?.message ?? `deepstudio answered ${res.status}`);
            return;
          }
          setNote("");
          attempts = 0;
          await readSse(res.body, (batch) => {
            const replay = batch.filter((e) => e.type === "delta").length > BURST;
            const before = reasoningTokens;
            for (const e of batch) {
              if (e.id && e.id <= lastId) continue; // never apply an event twice
              if (e.id) lastId = e.id;
              handle(e, replay);
            }
            if (reasoningTokens !== before) setReasoning(reasoningTokens);
          });
        } catch {
          if (stop.signal.aborted) return;
        }
        if (finished) return;
        // The connection dropped mid-run: resume after the last event we have.
        setNote("Connection lost; reconnecting…");
        await new Promise((res) => setTimeout(res, Math.min(5000, 250 * 2 ** attempts++)));
      }
    }
    follow();
    const watch = setInterval(() => finished || ticker || tick(), 1000);
    return () => {
      stop.abort();
      clearInterval(ticker);
      clearInterval(watch);
    };
  }, [id]);

  // Esc stops a running run (unless something else, e.g. an open menu, used the key).
  const running = ACTIVE.includes(status);
  useEffect(() => {
    if (!running) return;
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "Escape" && !e.defaultPrevented) cancel();
    };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, [running, stopping]);

  async function cancel() {
    if (stopping) return;
    setStopping(true);
    const res = await api("POST", `/api/research/${encodeURIComponent(id)}/cancel`);
    if (!res.ok) {
      setNote(res.error.message);
      setStopping(false);
    }
  }

  async function copy() {
    const text = renderer.current?.text ?? "";
    try {
      await navigator.clipboard.writeText(text);
      setNote("Copied the Markdown to the clipboard.");
    } catch {
      setNote("Copying is not allowed here; use Download instead.");
    }
  }

  const active = ACTIVE.includes(status);
  const { following, jump, hold, tracking } = useFollow(docRef, active);
  follower.current = { hold, tracking };
  const shown = ended ? settleSteps(viewSteps(pipe, sub, props.query), ended) : viewSteps(
    pipe,
    sub,
    props.query,
  );
  const now = active ? currentStep(pipe, sub) : "";
  const m = metrics;
  const answered = m?.model ?? null;
  return (
    <div class="run">
      <div class={`run-bar${active ? " live" : ""}`}>
        <p class="run-status" role="status" aria-live="polite">
          <span class={`badge ${status}`}>{status}</span> {stall || message}
        </p>
        <NoSourcesBadge feed={sourcesFeed} initial={props.noSources ?? null} />
        <div class="row">
          {active && (
            <button type="button" class="stop" onClick={cancel} disabled={stopping}>
              {stopping ? "Stopping…" : "Stop"}
            </button>
          )}
          <button type="button" class="secondary" onClick={copy} disabled={!hasText}>
            Copy
          </button>
          <a class="button secondary" href={`/api/research/${encodeURIComponent(id)}/export.md`}>
            Download .md
          </a>
        </div>
      </div>
      {active && (
        <progress
          class="bar"
          max={100}
          value={percent}
          aria-label="Progress"
          aria-valuetext={now ? `${percent} %, ${now}` : `${percent} %`}
        />
      )}
      {now && <p class="step-now muted small">{now}</p>}
      <dl class="metrics">
        <div>
          <dt>First token</dt>
          <dd class="m-ttft">
            {m && m.ttftMs != null
              ? ms(m.ttftMs)
              : firstToken != null
              ? ms(firstToken)
              : active && waited != null
              ? `waiting… ${waited} s`
              : active && status === "running"
              ? "waiting…"
              : "—"}
          </dd>
        </div>
        <div>
          <dt>Speed</dt>
          <dd class="m-tps">
            {m?.tokensPerSecond != null
              ? `${m.tokensPerSecond.toFixed(1)} tok/s`
              : tps == null || !active
              ? "—"
              : `≈ ${tps.toFixed(1)} tok/s`}
          </dd>
        </div>
        <div>
          <dt>Model</dt>
          <dd class="m-model">
            {answered ?? (props.model || "—")}
            {answered && props.model && answered !== props.model && (
              <span class="muted small">(asked for {props.model})</span>
            )}
          </dd>
        </div>
      </dl>
      <pre
        class="plan-live"
        ref={planRef}
        aria-label="The plan as it forms"
        hidden={!(active && mode === "detailed" && !sub.questions.length)}
      />
      {shown.length > 1 && (
        <ol class="steps" aria-label="Progress steps">
          {shown.map((s) => (
            <li key={s.key} class={`step ${s.state}`}>
              <span class="sr-only">{s.state}:</span> {s.label}
            </li>
          ))}
        </ol>
      )}
      {stepErrors.map((e, i) => (
        <p key={i} class="notice warn">
          <strong>{e.title}</strong> (sub-question {e.step}): {e.message} {e.hint}
        </p>
      ))}
      {note && <p class="notice">{note}</p>}
      <article class="answer md" ref={docRef} aria-busy={active} aria-label="Answer" />
      <details class="reasoning" hidden={reasoning === 0}>
        <summary>Reasoning, {formatCount(reasoning)} tokens</summary>
        <pre class="reasoning-text" ref={reasonRef} aria-label="The model's reasoning" />
      </details>
      <SourcesPanel runId={id} feed={sourcesFeed} answer={docRef} finished={!active} />
      {!following && <button type="button" class="jump-live" onClick={jump}>Jump to live ↓</button>}
      {error && (
        <section class="notice bad error-panel" role="alert">
          <h2>{error.title}</h2>
          <p class="error-message">{error.message}</p>
          {error.hint && <p class="hint">{error.hint}</p>}
          {error.action && !active && (
            <ContextFix id={id} action={error.action} request={{ ...props.retry }} />
          )}
        </section>
      )}
      {!active && !error?.action && <ResumeRun id={id} status={status} />}
      {!active && <RunActions id={id} status={status} request={props.retry} focus={stopping} />}
    </div>
  );
}
