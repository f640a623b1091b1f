/**
 * The shapes of research runs: the request schema (the single source of truth the route and the
 * OpenAPI generator both import), the stored record, and the events a run emits.
 */
import { z } from "zod";
import { type RunSources, SourcesRequestSchema } from "../sources/request.ts";
import type { Citation, SourceEventData } from "../sources/types.ts";
import { PROVIDER_IDS } from "../settings/schema.ts";
import type { ProviderId, UpstreamError, Usage } from "../providers/types.ts";
import type { StepState } from "./steps/types.ts";
import type { TextOp } from "./text_ops.ts";

/** Longest question accepted; longer input is almost always a paste accident. */
export const MAX_QUERY_CHARS = 8000;

/** `POST /api/research` body. */
export const ResearchRequestSchema = z.strictObject({
  query: z.string({ error: "Enter a question as text" }).trim().min(
    1,
    "Enter a question: the query is empty",
  ).max(MAX_QUERY_CHARS, `Keep the question under ${MAX_QUERY_CHARS} characters`),
  mode: z.enum(["quick", "detailed"], { error: 'Choose mode "quick" or "detailed"' }).default(
    "quick",
  ),
  provider: z.enum(PROVIDER_IDS, {
    error: `Unknown provider; choose one of ${PROVIDER_IDS.join(", ")}`,
  }).optional(),
  model: z.string().trim().max(512, "Model ids are at most 512 characters").optional(),
  temperature: z.number({ error: "Enter a number from 0 to 2" }).min(0, "Must be at least 0")
    .max(2, "Must be at most 2").optional(),
  maxTokens: z.number({ error: "Enter a whole number from 1 to 1000000" }).int(
    "Enter a whole number from 1 to 1000000",
  ).min(1, "Must be at least 1").max(1_000_000, "Must be at most 1000000").optional(),
  /** A finished run this one follows up on: its question and report are carried as context. */
  followUp: z.string({ error: "followUp is the id of a previous run" }).trim().min(1).max(
    64,
    "followUp is the id of a previous run",
  ).optional(),
  /** Where to look (lib/sources/request.ts); absent: the `search.engine` setting. */
  sources: SourcesRequestSchema.optional(),
});

/** A validated research request. */
export type ResearchRequest = z.output<typeof ResearchRequestSchema>;

/** `GET /api/research` query. */
export const ResearchListQuerySchema = z.strictObject({
  limit: z.coerce.number({ error: "limit must be a number" }).int("limit must be a whole number")
    .min(1, "limit must be at least 1").max(100, "limit must be at most 100").default(20),
  cursor: z.string().max(2048).optional(),
});

/** Research modes. */
export type RunMode = "quick" | "detailed";

/** Where a run is in its life. Terminal: completed, failed, cancelled, interrupted. */
export type RunStatus = "queued" | "running" | "completed" | "failed" | "cancelled" | "interrupted";

/** Statuses after which nothing changes. */
export const TERMINAL_STATUSES: readonly RunStatus[] = [
  "completed",
  "failed",
  "cancelled",
  "interrupted",
];

/** True once a run can no longer change. */
export function isTerminal(status: RunStatus): boolean {
  return TERMINAL_STATUSES.includes(status);
}

/** The settings a run used, frozen at submission so history says what produced a report. */
export interface RunSettings {
  provider: ProviderId;
  providerName: string;
  baseUrl: string;
  /** The model asked for (explicit, or the one loaded model chosen for the person). */
  model: string;
  /** True when the person named the model; false when deepstudio picked the loaded one. */
  modelChosen: boolean;
  temperature: number;
  maxTokens: number;
  /** Effective context window the prompts were budgeted against (tokens). */
  contextWindow: number;
  /** Where `contextWindow` came from. */
  contextSource: "server" | "setting";
}

/** Summed measurements over every LLM step of a run. */
export interface RunMetrics {
  /** Time to first token of the first step. */
  ttftMs: number | null;
  /** Mean generation speed over the steps that reported one. */
  tokensPerSecond: number | null;
  usage: Usage | null;
  /** The model that actually answered (servers may ignore the requested one). */
  model: string | null;
  /** LLM calls made. */
  steps: number;
}

/** A sub-question of a detailed run and how it went. */
export interface RunStep {
  index: number;
  question: string;
  status: "pending" | "running" | "done" | "failed" | "skipped";
  error?: UpstreamError;
}

/** A pipeline step as the record lists it (its output lives under its own key). */
export interface PipelineStep {
  name: string;
  label: string;
  state: StepState | "pending";
}

/**
 * The run a follow-up builds on: its question and (a capped copy of) its report, frozen at
 * submission so the follow-up's prompts do not change if the earlier run is deleted.
 */
export interface RunFollowUp {
  id: string;
  query: string;
  report: string;
}

/** The stored run (KV `["runs", id]`); the text lives in chunks beside it. */
export interface RunRecord {
  id: string;
  query: string;
  mode: RunMode;
  status: RunStatus;
  settings: RunSettings;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  /** Latest progress, so a list or a late reader sees where the run is without replaying. */
  progress: ProgressData | null;
  metrics: RunMetrics;
  /** The error that ended the run, or the first step error of a run that carried on. */
  error: UpstreamError | null;
  steps: RunStep[];
  /** The pipeline's steps and where each is. */
  pipeline: PipelineStep[];
  /** The process instance running (or about to run) it; its lease says whether it lives. */
  owner: string | null;
  /** Times the run was resumed (after a restart, or by `POST /api/research/{id}/resume`). */
  resumes: number;
  /** Seq of the last persisted event. */
  lastSeq: number;
  textLength: number;
  textChunks: number;
  /** Set when this run is a follow-up of an earlier one. */
  followUp?: RunFollowUp;
  /** The engines, collections and limits the run searches (absent on runs made before them). */
  sources?: RunSources;
  /** Why a sourced run answered without sources (none found, every engine failed). */
  noSources?: string;
}

/** `progress` event payload. */
export interface ProgressData {
  phase: string;
  message: string;
  percent: number;
  [extra: string]: unknown;
}

/** Payloads by event type. */
export interface RunEventData {
  status: { status: RunStatus; [extra: string]: unknown };
  progress: ProgressData;
  /**
   * A streamed token. `step`: 0 the plan, 1..n a sub-question; absent: the answer (quick) or the
   * report. Appended to the run's text unless `aside` (shown live, not kept: the plan).
   */
  delta: { text: string; step?: number; aside?: boolean };
  /**
   * The model's reasoning (a provider's reasoning field, or `<think>` blocks cut from the content):
   * shown collapsed under the answer, never part of the text, the exports or the citations.
   * `tokens`: the stream chunks it came in (one token each on LM Studio and llama.cpp).
   */
  reasoning: { text: string; tokens: number; phase: string; step?: number };
  /** The run's first token arrived `ttftMs` after its first request started (live figure). */
  first_token: { ttftMs: number; phase: string; step?: number };
  /** Any other edit of the text (headings, notes, the error report, cuts, the final order). */
  text: TextOp & { step?: string };
  /** A pipeline step changed state; `index`/`of` place it in the pipeline. */
  step: {
    name: string;
    label: string;
    state: StepState;
    index: number;
    of: number;
    reason?: string;
    error?: UpstreamError;
  };
  metrics: {
    ttftMs: number | null;
    tokensPerSecond: number | null;
    usage: Usage | null;
    model: string | null;
    /** Per-call metrics of a detailed run name their phase (and sub-question); the run's
     * totals come last with `phase: "total"`. */
    phase?: string;
    step?: number;
    /** LLM calls counted in the totals. */
    steps?: number;
  };
  error: UpstreamError & { step?: number; fatal: boolean };
  done: { status: RunStatus };
  /** A source was found, or read (same `index`: an update). */
  source: SourceEventData;
  /** The report's citations are final: numbers, sources and cited passages. */
  citations: { cited: number; removed: number; citations: Citation[]; noSources?: string };
}

/** An event type. */
export type RunEventType = keyof RunEventData;

/** One event of a run's log; `seq` is the SSE `id:` and increases by one from 1. */
export type RunEvent = {
  [T in RunEventType]: { seq: number; type: T; data: RunEventData[T]; at: number };
}[RunEventType];
