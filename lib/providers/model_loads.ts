/**
 * Model loads as jobs that belong to the server process, not to the request that asked: LM Studio
 * cannot cancel a load, so a browser tab that closes must not leave deepstudio believing nothing
 * happened, and a second tab (or a run's "reload and continue") asking for the same model while it
 * loads joins the running job instead of making LM Studio load a second copy.
 *
 * A job reloads: instances of the model already loaded are unloaded first (LM Studio would
 * otherwise keep both, see docs/lmstudio_native_api.md), then the model is loaded with the asked
 * context. While LM Studio is silent the job emits a progress event every second (elapsed time),
 * so no one stares at a spinner. Loads and unloads go through the adapter's slots, which drop the
 * model store's lists for the server, so every list read after `done` shows the new state.
 */
import type { LoadModelResult } from "./adapter.ts";
import { toUpstreamError } from "./errors.ts";
import type { ModelInfo, ResolvedProvider, UpstreamError } from "./types.ts";

/** What a load job reports, in order: progress*, then exactly one done or error. */
export type LoadEvent =
  | {
    type: "progress";
    phase: "unloading" | "loading";
    model: string;
    contextLength: number;
    elapsedMs: number;
    /** 0..1 when the server reports one (the explicit load API does not). */
    progress?: number;
    message: string;
  }
  | {
    type: "done";
    /** The model's record after the load (null when the server no longer lists it). */
    model: ModelInfo | null;
    instanceId: string;
    contextLength: number;
    loadTimeMs: number | null;
    elapsedMs: number;
    /** Instances unloaded first. */
    replaced: string[];
  }
  | { type: "error"; error: UpstreamError; elapsedMs: number };

/** One running (or finished) load. */
export interface LoadJob {
  readonly model: string;
  readonly contextLength: number;
  /** Events so far, then live ones until the end; stops early when `signal` aborts. */
  events(signal?: AbortSignal): AsyncIterable<LoadEvent>;
  /** The final event. */
  readonly result: Promise<Extract<LoadEvent, { type: "done" | "error" }>>;
}

/** What the manager needs. */
export interface LoadManagerDeps {
  now: () => number;
  inContainer: boolean;
  /** Loads through the adapter's slot (which invalidates the model store). */
  load(provider: ResolvedProvider, model: string, contextLength: number): Promise<LoadModelResult>;
  /** Unloads one instance through the adapter's slot (which invalidates the model store). */
  unload(provider: ResolvedProvider, model: string, instanceId: string): Promise<void>;
  /** A fresh model list after the load. */
  models(provider: ResolvedProvider): Promise<ModelInfo[]>;
  /** Progress tick while LM Studio is silent (default 1000 ms). */
  tickMs?: number;
}

/** Starts and joins loads. */
export interface LoadManager {
  /**
   * Starts loading `model` with `contextLength`, unloading its current instances first; joins the
   * running job for the same model instead (`joined`: the caller should check its context).
   */
  start(
    provider: ResolvedProvider,
    model: ModelInfo,
    contextLength: number,
  ): { job: LoadJob; joined: boolean };
  /** The running job for a model, if any. */
  running(provider: ResolvedProvider, model: string): LoadJob | undefined;
}

/** A manager over the provider module's HTTP deps and caches. */
export function createLoadManager(deps: LoadManagerDeps): LoadManager {
  const jobs = new Map<string, LoadJob>();
  const key = (p: ResolvedProvider, model: string) => `${p.baseUrl}\n${model}`;

  function run(provider: ResolvedProvider, info: ModelInfo, contextLength: number): LoadJob {
    const log: LoadEvent[] = [];
    const listeners = new Set<() => void>();
    const started = deps.now();
    const elapsed = () => Math.round(deps.now() - started);
    let finished = false;
    const emit = (ev: LoadEvent) => {
      log.push(ev);
      for (const l of listeners) l();
    };
    let phase: "unloading" | "loading" = "loading";
    const progress = () =>
      emit({
        type: "progress",
        phase,
        model: info.id,
        contextLength,
        elapsedMs: elapsed(),
        message: phase === "unloading"
          ? `Unloading ${info.id} to reload it with ${contextLength} tokens of context…`
          : `Loading ${info.id} with ${contextLength} tokens of context… ${
            Math.floor(elapsed() / 1000)
          } s`,
      });
    const timer = setInterval(progress, deps.tickMs ?? 1000);
    const result = (async (): Promise<Extract<LoadEvent, { type: "done" | "error" }>> => {
      const replaced: string[] = [];
      try {
        const old = info.instances ?? [];
        if (old.length) {
          phase = "unloading";
          progress();
          for (const i of old) {
            await deps.unload(provider, info.id, i.id);
            replaced.push(i.id);
          }
        }
        phase = "loading";
        progress();
        const loaded = await deps.load(provider, info.id, contextLength);
        let record: ModelInfo | null = null;
        try {
          record = (await deps.models(provider)).find((m) => m.id === info.id) ?? null;
        } catch { /* the load worked; the list will come back on its own */ }
        return {
          type: "done",
          model: record,
          instanceId: loaded.instanceId ?? info.id,
          contextLength: loaded.contextLength ??
            record?.instances?.find((i) => i.id === loaded.instanceId)?.contextLength ??
            contextLength,
          loadTimeMs: loaded.loadTimeMs ?? null,
          elapsedMs: elapsed(),
          replaced,
        };
      } catch (e) {
        return {
          type: "error",
          error: toUpstreamError(e, provider, {
            url: `${provider.baseUrl}/api/v1/models/load`,
            inContainer: deps.inContainer,
          }),
          elapsedMs: elapsed(),
        };
      }
    })().then((end) => {
      clearInterval(timer);
      finished = true;
      emit(end);
      return end;
    });
    return {
      model: info.id,
      contextLength,
      result,
      async *events(signal) {
        let at = 0;
        for (;;) {
          while (at < log.length) yield log[at++];
          if (finished || signal?.aborted) return;
          await new Promise<void>((resolve) => {
            const wake = () => {
              listeners.delete(wake);
              signal?.removeEventListener("abort", wake);
              resolve();
            };
            listeners.add(wake);
            signal?.addEventListener("abort", wake, { once: true });
          });
        }
      },
    };
  }

  return {
    start(provider, model, contextLength) {
      const k = key(provider, model.id);
      const running = jobs.get(k);
      if (running) return { job: running, joined: true };
      const job = run(provider, model, contextLength);
      jobs.set(k, job);
      job.result.finally(() => {
        if (jobs.get(k) === job) jobs.delete(k);
      });
      return { job, joined: false };
    },
    running: (provider, model) => jobs.get(key(provider, model)),
  };
}
