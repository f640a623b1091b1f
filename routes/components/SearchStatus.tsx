/**
 * The Status page's search section: each source engine's state next to the LLM providers, with
 * the failure's hint (e.g. SearXNG's JSON output being off) written out.
 */
import type { EngineStatus } from "../../lib/search/types.ts";

const STATE: Record<EngineStatus["state"], [string, string]> = {
  available: ["ok", "Available"],
  unavailable: ["bad", "Not working"],
  not_configured: ["warn", "Not set up"],
  not_checked: ["idle", "Not checked"],
};

/** One panel per engine. */
export function SearchStatus({ engines }: { engines: EngineStatus[] }) {
  return (
    <>
      <h2 class="section-title">Sources</h2>
      {engines.map((e) => {
        const [cls, label] = STATE[e.state];
        return (
          <section class="panel provider" id={`engine-${e.id}`} key={e.id}>
            <h2>
              <span class={`dot ${cls}`} aria-hidden="true" />
              {e.label}
              <span class={`state ${cls}`}>{label}</span>
            </h2>
            <dl class="facts">
              {e.url && (
                <div>
                  <dt>URL</dt>
                  <dd>
                    <code>{e.url}</code>
                  </dd>
                </div>
              )}
              {e.latencyMs !== undefined && (
                <div>
                  <dt>Latency</dt>
                  <dd>{e.latencyMs} ms</dd>
                </div>
              )}
              {e.detail && (
                <div class="wide">
                  <dt>{e.state === "unavailable" ? "Error" : "Note"}</dt>
                  <dd>{e.detail}</dd>
                </div>
              )}
            </dl>
            {e.hint && <p class="notice warn">What to do: {e.hint}</p>}
          </section>
        );
      })}
    </>
  );
}
