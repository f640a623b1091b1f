/** Server-rendered pages. Interactive parts are islands; everything else is plain HTML. */
import { Hono } from "./hono.ts";
import type { AppContext } from "../lib/context.ts";
import { Island } from "../lib/islands/island.ts";
import { renderDocument } from "../lib/islands/render.ts";
import { settingsView } from "../lib/settings/view.ts";
import { MARKDOWN_JS } from "../lib/assets.ts";
import { PROVIDERS } from "../lib/providers/records.ts";
import { type ProviderService, providerServiceFor } from "../lib/providers/service.ts";
import { researchServiceFor } from "../lib/research/service.ts";
import type { RunRecord } from "../lib/research/schema.ts";
import type { RetryRequest } from "../islands/RunActions.tsx";
import type { SettingsFormProps } from "../islands/SettingsForm.tsx";
import { HistoryPage } from "./components/HistoryPage.tsx";
import { Layout } from "./components/Layout.tsx";
import { researchFormProps } from "./components/research_props.ts";
import { StatusPage, type StatusRow } from "./components/StatusPage.tsx";
import { SearchStatus } from "./components/SearchStatus.tsx";
import { collectionChoices, engineStatuses, searchDepsFor } from "../lib/search/engines.ts";
import { noSourcesReason } from "../lib/sources/no_sources.ts";

const HISTORY_PAGE = 25;

function short(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/**
 * Probes every provider (fresh) and lists its models, all in parallel with their own timeouts.
 * A cloud provider without a key is not contacted at all: nothing leaves the machine unasked.
 */
async function statusRows(service: ProviderService): Promise<StatusRow[]> {
  const providers = await service.list();
  return await Promise.all(providers.map(async (p): Promise<StatusRow> => {
    const row: StatusRow = {
      id: p.id,
      name: p.displayName,
      local: p.local,
      selected: p.selected,
      urlSetting: p.urlSetting,
      keySetting: p.apiKeySetting,
      defaultUrl: PROVIDERS[p.id].defaultUrl,
      ui: p.ui,
      status: null,
      models: null,
    };
    if (!p.local && !p.keySet) {
      row.skipped =
        "Not checked: no API key is set, and deepstudio does not contact cloud services unasked.";
      return row;
    }
    const [status, models] = await Promise.allSettled([
      service.status(p.id, { fresh: true }),
      service.models(p.id, { type: "all", timeoutMs: 3000 }),
    ]);
    if (status.status === "fulfilled") row.status = status.value;
    if (models.status === "fulfilled") row.models = models.value.models;
    else {
      const e = models.reason as { error?: { message?: string }; message?: string };
      row.modelsError = e?.error?.message ?? e?.message ?? String(models.reason);
    }
    return row;
  }));
}

/** Each provider's status-line texts, from its adapter (the settings form's "Test connection"). */
function statusTexts(): SettingsFormProps["statusTexts"] {
  return Object.fromEntries(
    Object.values(PROVIDERS).map((r) => [r.id, r.adapter.hints.ui.line]),
  );
}

/** The HTML 404 page: says what was asked for and where to go instead. */
export function notFoundPage(path: string): string {
  return renderDocument(
    "Page not found",
    <Layout active="">
      <h1>Page not found</h1>
      <p>
        There is no page at <code>{short(path, 120)}</code>. Go to <a href="/">Research</a>,{" "}
        <a href="/history">History</a> or <a href="/settings">Settings</a>.
      </p>
    </Layout>,
  );
}

/** What Retry sends: the same question with the run's frozen settings. */
function retryRequest(run: RunRecord): RetryRequest {
  return {
    query: run.query,
    mode: run.mode,
    provider: run.settings.provider,
    ...(run.settings.modelChosen ? { model: run.settings.model } : {}),
    temperature: run.settings.temperature,
    maxTokens: run.settings.maxTokens,
    // A retry or follow-up searches where the run searched (engines, collections, limit).
    ...(run.sources ? { sources: run.sources } : {}),
  };
}

/** Runs recent enough to be listed that follow up on this one. */
const FOLLOW_UP_SCAN = 100;

/** The HTML pages. */
export function pageRoutes(ctx: AppContext) {
  // The same service the API uses: live runs come from memory, and start-up recovery is awaited.
  const research = researchServiceFor(ctx, providerServiceFor(ctx));
  async function followUpsOf(id: string): Promise<RunRecord[]> {
    const page = await research.list({ limit: FOLLOW_UP_SCAN });
    return page.runs.filter((r) => r.followUp?.id === id).reverse();
  }
  return new Hono()
    .get("/", async (c) => {
      const view = settingsView(await ctx.settings.get(), ctx.settings.envWarnings);
      return c.html(renderDocument(
        "Research",
        <Layout active="/">
          <h1>Research</h1>
          <p class="muted">Ask a question; deepstudio answers with your local model.</p>
          <Island
            name="ResearchForm"
            props={researchFormProps(view, await collectionChoices(ctx.kv))}
          />
        </Layout>,
      ));
    })
    .get("/research/:id", async (c) => {
      const run = (await research.get(c.req.param("id")))?.run;
      if (!run) {
        return c.html(
          renderDocument(
            "Not found",
            <Layout active="">
              <h1>No such run</h1>
              <p>
                It may have been deleted. See <a href="/history">History</a> or{" "}
                <a href="/">start a new one</a>.
              </p>
            </Layout>,
          ),
          404,
        );
      }
      const followUps = await followUpsOf(run.id);
      return c.html(renderDocument(
        short(run.query, 60),
        <Layout active="/">
          <p class="muted small crumbs">
            {run.mode === "detailed" ? "Detailed report" : "Quick answer"} ·{" "}
            {run.settings.providerName} · <a href="/history">History</a>
          </p>
          {run.followUp && (
            <p class="small follow-of">
              Follow-up to{" "}
              <a href={`/research/${encodeURIComponent(run.followUp.id)}`}>
                {short(run.followUp.query, 80)}
              </a>
            </p>
          )}
          <h1 class="question">{run.query}</h1>
          <Island
            name="RunView"
            props={{
              id: run.id,
              query: run.query,
              mode: run.mode,
              status: run.status,
              model: run.settings.model,
              providerName: run.settings.providerName,
              markdownUrl: MARKDOWN_JS.path,
              retry: retryRequest(run),
              noSources: noSourcesReason(run),
              answerBudget: Math.min(
                run.settings.maxTokens,
                Math.floor(run.settings.contextWindow * 0.8),
              ),
              idleLimitS: (await ctx.settings.get()).values["llm.request_timeout"] ?? null,
              pipeline: run.pipeline ?? [],
            }}
          />
          {followUps.length > 0 && (
            <nav class="follow-ups" aria-label="Follow-ups">
              <h2>Follow-ups</h2>
              <ul>
                {followUps.map((f) => (
                  <li key={f.id}>
                    <a href={`/research/${encodeURIComponent(f.id)}`}>{short(f.query, 100)}</a>{" "}
                    <span class={`badge ${f.status}`}>{f.status}</span>
                  </li>
                ))}
              </ul>
            </nav>
          )}
        </Layout>,
      ));
    })
    .get("/history", async (c) => {
      const cursor = c.req.query("cursor") || undefined;
      let page: { runs: RunRecord[]; cursor: string | null };
      try {
        page = await research.list({ limit: HISTORY_PAGE, cursor });
      } catch {
        page = { runs: [], cursor: null }; // a stale or mangled cursor: show the first page's link
      }
      return c.html(renderDocument(
        "History",
        <Layout active="/history">
          <HistoryPage runs={page.runs} next={page.cursor} />
        </Layout>,
      ));
    })
    .get("/status", async (c) => {
      const [rows, engines] = await Promise.all([
        statusRows(providerServiceFor(ctx)),
        searchDepsFor(ctx).then((deps) => engineStatuses(deps, c.req.raw.signal)),
      ]);
      return c.html(renderDocument(
        "Status",
        <Layout active="/status">
          <StatusPage rows={rows} />
          <SearchStatus engines={engines} />
        </Layout>,
      ));
    })
    .get("/settings", async (c) => {
      const view = settingsView(await ctx.settings.get(), ctx.settings.envWarnings);
      return c.html(renderDocument(
        "Settings",
        <Layout active="/settings">
          <h1>Settings</h1>
          <Island name="SettingsForm" props={{ view, statusTexts: statusTexts() }} />
        </Layout>,
      ));
    });
}
