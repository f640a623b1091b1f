/**
 * The Status page body: every provider's state, latency, server kind and models, and a
 * troubleshooting checklist written for the state each one is in, with the exact fix. Server
 * only: the probes run while the page renders, so the page needs no JavaScript ("Check again"
 * is a plain link).
 */
import { FAMILY_NAMES } from "../../lib/providers/names.ts";
import { listenStep } from "../../lib/hints/docker.ts";
import { dockerHint } from "../../lib/providers/errors.ts";
import type { ModelInfo, ProviderStatus } from "../../lib/providers/types.ts";
import { type FamilyUi, fillStep, fillText } from "../../lib/providers/ui_text.ts";

/** One provider's findings. */
export interface StatusRow {
  id: string;
  name: string;
  local: boolean;
  selected: boolean;
  urlSetting: string | null;
  keySetting: string;
  defaultUrl: string;
  /** The family's texts (the provider's adapter, `hints.ui`). */
  ui: FamilyUi;
  /** Null when not probed (e.g. a cloud provider without a key: nothing leaves the machine). */
  status: ProviderStatus | null;
  skipped?: string;
  models: ModelInfo[] | null;
  modelsError?: string;
}

const STATE_TEXT: Record<string, [string, string]> = {
  available: ["ok", "Available"],
  unreachable: ["bad", "Not reachable"],
  timeout: ["bad", "Timed out"],
  wrong_path: ["bad", "Wrong URL or path"],
  auth_required: ["warn", "Needs an API key"],
  no_models: ["warn", "No models"],
};

const SERVER_NAMES = FAMILY_NAMES;

function envOf(key: string): string {
  return `LDR_${key.toUpperCase().replaceAll(".", "_")}`;
}

function ctx(n: number | null): string {
  return n == null ? "—" : n.toLocaleString("en-US");
}

/** The checklist for one provider's state: what to check, in order, with the exact fix. */
export function checklist(row: StatusRow): { text: string; code?: string }[] {
  const s = row.status;
  if (!s || s.state === "available") return [];
  const url = s.baseUrl || "(not set)";
  const port = (() => {
    try {
      return new URL(s.baseUrl).port || "80";
    } catch {
      return "";
    }
  })();
  const setUrl = row.urlSetting
    ? `Change it on the Settings page or with ${envOf(row.urlSetting)}.`
    : "";
  const vars = { name: row.name, url, port, env: envOf(row.keySetting) };
  const texts = row.ui.checklist;
  const items: { text: string; code?: string }[] = [];
  if (s.dockerLoopback) {
    items.push({
      text: `${dockerHint(s.baseUrl, true, row.id)} For docker-compose.yml on Linux (and ${
        listenStep(row.id)
      }):`,
      code: `extra_hosts: ["host.docker.internal:host-gateway"]\nenvironment:\n  ${
        row.urlSetting ? envOf(row.urlSetting) : "LDR_LLM_LMSTUDIO_URL"
      }: http://host.docker.internal:${port || "1234"}`,
    });
  }
  switch (s.state) {
    case "unreachable":
      if (!s.baseUrl) {
        items.push({
          text: `No URL is configured for ${row.name}. ${setUrl.replace("Change", "Set")}`,
        });
        break;
      }
      items.push(
        fillStep(texts.start, vars),
        {
          text: `Check the port: the server must listen on ${port || "the port in the URL"}${
            fillText(texts.portNote, vars)
          }. ${setUrl}`,
        },
        { text: "Check from this machine that something answers:", code: `curl ${url}/v1/models` },
      );
      break;
    case "timeout":
      items.push(
        {
          text:
            `${url} did not answer within 1 s. The server may be busy loading a large model or processing a long prompt: wait, then check again.`,
        },
        {
          text:
            "A firewall that drops packets (instead of refusing) looks like this too; so does a host name that resolves to the wrong machine.",
        },
      );
      break;
    case "wrong_path":
      items.push(
        {
          text:
            `Something answers at ${url}, but not an OpenAI-compatible API. Use the base address only, e.g. ${
              row.defaultUrl || "http://localhost:8000"
            }: deepstudio adds /v1 itself, so a URL ending in /api or /v1/chat is wrong.`,
        },
        { text: `Make sure no other program uses port ${port || "?"}. ${setUrl}` },
      );
      break;
    case "auth_required":
      items.push(fillStep(texts.auth, vars));
      break;
    case "no_models":
      items.push(
        fillStep(texts.noModels, vars),
        { text: "Embedding models do not count: research needs a chat model." },
      );
      break;
  }
  const generic = s.state === "unreachable" || s.state === "no_models";
  if (s.hint && !generic && !s.dockerLoopback) {
    items.push({ text: `deepstudio's diagnosis: ${s.hint}` });
  }
  return items;
}

/** The status page's content. */
export function StatusPage({ rows }: { rows: StatusRow[] }) {
  return (
    <>
      <div class="row spread">
        <h1>Status</h1>
        <a class="button secondary" href="/status">Check again</a>
      </div>
      {[...rows].sort((a, b) => Number(b.selected) - Number(a.selected)).map((row) => {
        const s = row.status;
        const [cls, label] = stateLabel(row);
        const steps = checklist(row);
        const reached = !!s && s.baseUrl !== "" && !["unreachable", "timeout"].includes(s.state);
        const heading = (
          <h2 id={`p-${row.id}`}>
            <span class={`dot ${cls}`} aria-hidden="true" />
            {row.name}
            {row.selected && <span class="badge selected">in use</span>}
            <span class={`state ${cls}`}>{label}</span>
          </h2>
        );
        const body = (
          <>
            {row.skipped && <p class="muted">{row.skipped}</p>}
            {s && s.baseUrl && (
              <dl class="facts">
                <div>
                  <dt>URL</dt>
                  <dd>
                    <code>{s.baseUrl || "not set"}</code>
                  </dd>
                </div>
                {reached && (
                  <div>
                    <dt>Latency</dt>
                    <dd>{s.latencyMs} ms</dd>
                  </div>
                )}
                <div>
                  <dt>Server</dt>
                  <dd>{s.server ? SERVER_NAMES[s.server] ?? s.server : "unknown"}</dd>
                </div>
                {s.error && (
                  <div class="wide">
                    <dt>Error</dt>
                    <dd>
                      <strong>{s.error.title}</strong>: {s.error.message}
                    </dd>
                  </div>
                )}
              </dl>
            )}
            {row.models && row.models.length > 0 && (
              <table class="models-table stack">
                <caption class="sr-only">{row.name} models</caption>
                <thead>
                  <tr>
                    <th scope="col">Model</th>
                    <th scope="col">Type</th>
                    <th scope="col">State</th>
                    <th scope="col">Loaded context</th>
                    <th scope="col">Max context</th>
                  </tr>
                </thead>
                <tbody>
                  {row.models.map((m) => (
                    <tr key={m.id}>
                      <td>
                        {m.displayName}
                        {m.displayName !== m.id && <code class="small">{m.id}</code>}
                      </td>
                      <td data-label="Type">{m.type}</td>
                      <td data-label="State">
                        <span class={`badge ${m.state}`}>{m.state.replace("-", " ")}</span>
                      </td>
                      <td data-label="Loaded context">{ctx(m.loadedContextLength)}</td>
                      <td data-label="Max context">{ctx(m.maxContextLength)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
            {row.modelsError && s?.state === "available" && (
              <p class="notice warn">Could not list models: {row.modelsError}</p>
            )}
            {steps.length > 0 && (
              <div class="checklist">
                <h3>Troubleshooting</h3>
                <ol>
                  {steps.map((i, n) => (
                    <li key={n}>
                      {i.text}
                      {i.code && (
                        <pre>
                          <code>{i.code}</code>
                        </pre>
                      )}
                    </li>
                  ))}
                </ol>
              </div>
            )}
          </>
        );
        // The provider in use comes first, open; the others are folded away (not in use).
        return row.selected
          ? (
            <section
              class="panel provider"
              id={`provider-${row.id}`}
              aria-labelledby={`p-${row.id}`}
              key={row.id}
            >
              {heading}
              {body}
            </section>
          )
          : (
            <details class="panel provider other" id={`provider-${row.id}`} key={row.id}>
              <summary>{heading}</summary>
              {body}
            </details>
          );
      })}
    </>
  );
}

/**
 * [css class, label] for a provider's heading. Only the provider in use gets a coloured state;
 * one the person does not use is "not configured" unless it actually answered.
 */
function stateLabel(row: StatusRow): [string, string] {
  const s = row.status;
  if (!s) return ["", "Not checked"];
  if (!s.baseUrl) return ["", "Not configured"];
  const [cls, text] = STATE_TEXT[s.state] ?? ["bad", s.state];
  if (row.selected) return [cls, text];
  if (s.state === "unreachable" || s.state === "timeout") return ["", "Not configured"];
  return ["", `${text} (not in use)`];
}
