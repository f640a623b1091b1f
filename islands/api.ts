/**
 * The browser's one way to call deepstudio's API: JSON in, JSON out, and every failure turned
 * into the API's error shape so components show `message` (and `hint`) without guessing.
 */

/** The error object the API returns (and network failures are mapped to). */
export interface ApiError {
  kind: string;
  message: string;
  hint?: string;
  title?: string;
  issues?: { key: string; message: string }[];
  [extra: string]: unknown;
}

/** Result of an API call. */
export type ApiResult<T> = { ok: true; data: T } | { ok: false; status: number; error: ApiError };

/** Calls the API; never throws. A FormData body goes as multipart (uploads), any other as JSON. */
export async function api<T>(method: string, path: string, body?: unknown): Promise<ApiResult<T>> {
  let res: Response;
  const form = body instanceof FormData;
  try {
    res = await fetch(path, {
      method,
      headers: body === undefined || form ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : form ? body : JSON.stringify(body),
    });
  } catch {
    return {
      ok: false,
      status: 0,
      error: { kind: "network", message: "deepstudio did not answer. Is it still running?" },
    };
  }
  let data: unknown = null;
  try {
    data = await res.json();
  } catch { /* not JSON */ }
  if (res.ok) return { ok: true, data: data as T };
  const error = (data as { error?: ApiError } | null)?.error ??
    { kind: "http", message: `deepstudio answered ${res.status}` };
  return { ok: false, status: res.status, error };
}
