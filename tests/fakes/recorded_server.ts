/**
 * The HTTP part the search-engine fakes (SearXNG, Wikipedia, arXiv) share: a server on 127.0.0.1
 * at an OS-chosen port that records every request's URL before the fake's handler answers it.
 */

/** A running recorded server. */
export interface RecordedServer {
  url: string;
  requests: URL[];
  close(): Promise<void>;
}

/** Serves `handle`; `beforeClose` releases whatever the fake holds open (hanging answers). */
export function serveRecorded(
  handle: (req: Request, url: URL) => Response | Promise<Response>,
  beforeClose?: () => void,
): RecordedServer {
  const ac = new AbortController();
  const requests: URL[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen() {} },
    (req) => {
      const url = new URL(req.url);
      requests.push(url);
      return handle(req, url);
    },
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    requests,
    close: async () => {
      beforeClose?.();
      ac.abort();
      await server.finished;
    },
  };
}
