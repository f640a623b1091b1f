/**
 * The browser side of `POST /api/providers/lmstudio/models/load`: posts the load and reads its SSE
 * answer (EventSource cannot POST) into `start` / `progress` / `done` / `error` events. Closing the
 * page stops only this reader; the load itself runs on in deepstudio.
 */
import type { ApiError } from "./api.ts";

/** What the load stream reports. */
export type LoadUpdate =
  | { type: "start"; model: string; contextLength: number; joined: boolean }
  | {
    type: "progress";
    phase: "unloading" | "loading";
    elapsedMs: number;
    progress?: number;
    message: string;
  }
  | { type: "done"; instanceId: string; contextLength: number; elapsedMs: number }
  | { type: "error"; error: ApiError };

/** Loads `model` with `contextLength`; `onUpdate` sees every event; resolves with the last. */
export async function loadModel(
  model: string,
  contextLength: number,
  onUpdate: (u: LoadUpdate) => void,
): Promise<Extract<LoadUpdate, { type: "done" | "error" }>> {
  const fail = (error: ApiError) => {
    const u = { type: "error" as const, error };
    onUpdate(u);
    return u;
  };
  let res: Response;
  try {
    res = await fetch("/api/providers/lmstudio/models/load", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model, contextLength }),
    });
  } catch {
    return fail({ kind: "network", message: "deepstudio did not answer. Is it still running?" });
  }
  if (!res.ok || !res.body) {
    const body = await res.json().catch(() => null) as { error?: ApiError } | null;
    return fail(body?.error ?? { kind: "http", message: `deepstudio answered ${res.status}` });
  }
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { done, value } = await reader.read().catch(() => ({ done: true, value: undefined }));
    if (done) break;
    buffer += value;
    for (let i = buffer.indexOf("\n\n"); i !== -1; i = buffer.indexOf("\n\n")) {
      const block = buffer.slice(0, i);
      buffer = buffer.slice(i + 2);
      const type = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (!type || !data) continue;
      const payload = JSON.parse(data);
      const u = { ...payload, type } as LoadUpdate;
      onUpdate(u);
      if (u.type === "done" || u.type === "error") return u;
    }
  }
  return fail({ kind: "network", message: "The connection to deepstudio ended during the load" });
}

/** "32k"-style label. */
export function ctxLabel(n: number | null): string {
  return n == null ? "?" : n % 1024 === 0 ? `${n / 1024}k` : String(n);
}
