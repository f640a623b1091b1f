/**
 * What the fake servers share: a record of every request they saw and of whether the client went
 * away before the response was complete. Tests assert "the fake saw the disconnect" with it, so
 * abort propagation is checked on the wire, not inferred from our own code.
 *
 * Deno.serve aborts `request.signal` after *successful* responses too (legacy behaviour), so a
 * request counts as aborted only when the signal fires while the handler is still working or a
 * streamed body is still open, or when the body stream's `cancel` callback runs.
 */

/** One request as a fake server saw it. */
export interface RecordedRequest {
  /** 1-based order of arrival. */
  id: number;
  method: string;
  /** Path without the query string, exactly as sent (a doubled slash stays doubled). */
  path: string;
  /** The full URL as the server saw it. */
  url: string;
  /** Lower-cased header names; `authorization` included so tests can check the bearer token. */
  headers: Record<string, string>;
  /** Parsed JSON body, or undefined when the body was empty or not JSON. */
  body: unknown;
  /** The raw body text. */
  rawBody: string;
  /** `performance.now()` when the request arrived. */
  startedAt: number;
  /** `performance.now()` when the fake finished sending the response (not set if aborted). */
  finishedAt?: number;
  /** True once the client disconnected before the response was complete. */
  aborted: boolean;
  /** `performance.now()` when the fake noticed the disconnect. */
  abortedAt?: number;
  /** Phase the fake was in when the client went away. */
  abortedPhase?: "before-headers" | "streaming";
}

/** Handle the fake handlers use to mark a request's life. */
export interface RequestTracker {
  record: RecordedRequest;
  /** Aborted when the client disconnects (also while a streamed body is open). */
  signal: AbortSignal;
  /** Call when the handler returns a complete (non-streamed) body. */
  finished(): void;
  /** Call once a streamed body starts: disconnects are then attributed to "streaming". */
  streaming(): void;
  /** Call when a streamed body was closed normally by the fake. */
  streamClosed(): void;
}

/** The request log plus waiting helpers. */
export class RequestLog {
  readonly requests: RecordedRequest[] = [];
  #waiters: { pred: (r: RecordedRequest) => boolean; resolve: (r: RecordedRequest) => void }[] = [];

  /** Requests whose client went away early. */
  get aborts(): RecordedRequest[] {
    return this.requests.filter((r) => r.aborted);
  }

  /** Starts tracking a request (reads its body). */
  async track(req: Request): Promise<RequestTracker> {
    const url = new URL(req.url);
    const headers: Record<string, string> = {};
    req.headers.forEach((v, k) => headers[k] = v);
    let rawBody = "";
    try {
      rawBody = req.body ? await req.text() : "";
    } catch { /* client went away while sending */ }
    let body: unknown = undefined;
    if (rawBody.trim() !== "") {
      try {
        body = JSON.parse(rawBody);
      } catch { /* not JSON: keep rawBody */ }
    }
    const record: RecordedRequest = {
      id: this.requests.length + 1,
      method: req.method,
      path: rawPath(req.url),
      url: url.href,
      headers,
      body,
      rawBody,
      startedAt: performance.now(),
      aborted: false,
    };
    this.requests.push(record);
    this.#notify(record);
    const controller = new AbortController();
    let phase: "before-headers" | "streaming" | "done" = "before-headers";
    const onAbort = () => this.#markAborted(record, phase, controller);
    if (req.signal.aborted) onAbort();
    else req.signal.addEventListener("abort", onAbort, { once: true });
    const stopListening = () => req.signal.removeEventListener("abort", onAbort);
    return {
      record,
      signal: controller.signal,
      finished: () => {
        phase = "done";
        record.finishedAt = performance.now();
        stopListening();
      },
      streaming: () => {
        if (phase === "before-headers") phase = "streaming";
      },
      streamClosed: () => {
        phase = "done";
        record.finishedAt ??= performance.now();
        stopListening();
      },
    };
  }

  /** Marks a streamed request aborted from the body's cancel callback. */
  cancelled(tracker: RequestTracker): void {
    this.#markAborted(tracker.record, "streaming");
  }

  #markAborted(
    record: RecordedRequest,
    phase: "before-headers" | "streaming" | "done",
    controller?: AbortController,
  ): void {
    if (phase === "done" || record.aborted) return;
    record.aborted = true;
    record.abortedAt = performance.now();
    record.abortedPhase = phase;
    controller?.abort();
    this.#notify(record);
  }

  #notify(record: RecordedRequest): void {
    this.#waiters = this.#waiters.filter((w) => {
      if (!w.pred(record)) return true;
      w.resolve(record);
      return false;
    });
  }

  /** Resolves with the first request (already seen or future) matching `pred`. */
  waitFor(
    pred: (r: RecordedRequest) => boolean,
    timeoutMs = 5000,
    what = "request",
  ): Promise<RecordedRequest> {
    const seen = this.requests.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w.resolve !== done);
        reject(new Error(`The fake saw no matching ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      const done = (r: RecordedRequest) => {
        clearTimeout(timer);
        resolve(r);
      };
      this.#waiters.push({ pred, resolve: done });
    });
  }

  /** Resolves when a request matching `pred` (default: any) has been aborted by its client. */
  waitForAbort(
    pred: (r: RecordedRequest) => boolean = () => true,
    timeoutMs = 5000,
  ): Promise<RecordedRequest> {
    return this.waitFor((r) => r.aborted && pred(r), timeoutMs, "aborted request");
  }
}

/** The path as sent, without normalising `//` (URL parsing keeps it, but be explicit). */
function rawPath(url: string): string {
  const afterHost = url.replace(/^[a-z]+:\/\/[^/]+/i, "");
  const q = afterHost.search(/[?#]/);
  return q === -1 ? afterHost : afterHost.slice(0, q);
}

/** A sleep that ends early (resolving false) when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  if (ms <= 0) return Promise.resolve(!signal?.aborted);
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(false);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve(true);
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** Splits a reply into word-ish tokens that keep their leading space, like real tokenizers do. */
export function tokenize(text: string): string[] {
  return text.match(/\s*\S+/g) ?? [];
}

/** A rough prompt size (4 characters a token plus framing), stable so tests can predict it. */
export function estimatePromptTokens(messages: unknown): number {
  if (!Array.isArray(messages)) return 0;
  let n = 0;
  for (const m of messages) {
    const content = typeof m?.content === "string" ? m.content : JSON.stringify(m?.content ?? "");
    n += Math.ceil(content.length / 4) + 4;
  }
  return n;
}

/** Random id in the style of chat completion ids. */
export function completionId(): string {
  const chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  let s = "chatcmpl-";
  for (let i = 0; i < 32; i++) s += chars[Math.floor(Math.random() * chars.length)];
  return s;
}
