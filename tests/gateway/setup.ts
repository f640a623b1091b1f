/**
 * Gateway test scaffolding: the fake LM Studio, deepstudio on a real socket (port 0) with its
 * settings pointed at the fake through `LDR_*` variables, and the official `openai` client aimed
 * at deepstudio's /v1.
 */
import OpenAI from "openai";
import {
  type FakeLmStudio,
  type FakeLmStudioOptions,
  startFakeLmStudio,
} from "../fakes/lmstudio.ts";
import { createUpstreamClient } from "../../lib/providers/http1_client.ts";
import { serve, testApp } from "../helpers.ts";

/** A running gateway in front of a fake LM Studio. */
export interface GatewayRig {
  lm: FakeLmStudio;
  /** deepstudio's origin (`http://127.0.0.1:<port>`). */
  url: string;
  /** The official client with `baseURL` = deepstudio's /v1, no retries. */
  client: OpenAI;
  /** URLs deepstudio fetched (what left the process). */
  fetched: string[];
  /** POSTs JSON to a /v1 path with plain fetch (curl-like). */
  post(path: string, body: unknown, init?: RequestInit): Promise<Response>;
  close(): Promise<void>;
}

/**
 * Starts the fake and deepstudio; `env` adds or overrides `LDR_*` settings. /v1 chat requests
 * (streamed or not) go over the raw HTTP/1.1 client as in production (app.ts's default);
 * `upstream: "fetch"` sends them through fetch instead.
 */
export async function startRig(
  opts: {
    fake?: FakeLmStudioOptions;
    env?: Record<string, string>;
    upstream?: "raw" | "fetch";
  } = {},
): Promise<GatewayRig> {
  const lm = await startFakeLmStudio(opts.fake);
  const fetched: string[] = [];
  const recordingFetch: typeof fetch = (input, init) => {
    fetched.push(input instanceof Request ? input.url : String(input));
    return fetch(input, init);
  };
  const stopRaw = new AbortController(); // its kept-alive connections close with the rig
  const raw = createUpstreamClient({ fallback: fetch, shutdown: stopRaw.signal });
  const recordingRaw: typeof fetch = (input, init) => {
    fetched.push(input instanceof Request ? input.url : String(input));
    return raw(input, init);
  };
  const t = await testApp({
    env: { LDR_LLM_LMSTUDIO_URL: lm.url, ...opts.env },
    fetch: recordingFetch,
    upstream: opts.upstream === "fetch" ? recordingFetch : recordingRaw,
  });
  const s = serve(t.app);
  const client = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: "sk-client-key", maxRetries: 0 });
  return {
    lm,
    url: s.url,
    client,
    fetched,
    post: (path, body, init = {}) =>
      fetch(`${s.url}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: typeof body === "string" ? body : JSON.stringify(body),
        ...init,
      }),
    async close() {
      await s.close();
      t.close();
      stopRaw.abort();
      await lm.close();
    },
  };
}

/** The user message every test sends. */
export const HELLO = [{ role: "user" as const, content: "Say hello." }];

/** Splits SSE text into events (without their blank-line terminator). */
export function events(text: string): string[] {
  return text.split("\n\n").filter((e) => e !== "");
}

/** Reads a whole body, keeping each read's bytes separately (to see how chunks arrived). */
export async function readChunks(res: Response): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  const reader = res.body!.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return out;
    out.push(value);
  }
}

/** Concatenates byte chunks. */
export function joinBytes(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
