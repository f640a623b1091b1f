/** Server-rendered pages. Interactive parts are islands; everything else is plain HTML. */
import { Hono } from "hono";
import type { AppContext } from "../lib/context.ts";
import { Island } from "../lib/islands/island.ts";
import { renderDocument } from "../lib/islands/render.ts";
import { settingsView } from "../lib/settings/view.ts";
import { Layout } from "./components/Layout.tsx";

/** The HTML pages. */
export function pageRoutes(ctx: AppContext) {
  return new Hono()
    .get("/", (c) =>
      c.html(renderDocument(
        "Research",
        <Layout active="/">
          <h1>Research</h1>
          <p class="muted">Ask a question; deepstudio answers with your local model.</p>
        </Layout>,
      )))
    .get("/settings", async (c) => {
      const view = settingsView(await ctx.settings.get(), ctx.settings.envWarnings);
      return c.html(renderDocument(
        "Settings",
        <Layout active="/settings">
          <h1>Settings</h1>
          <Island name="SettingsForm" props={{ view }} />
        </Layout>,
      ));
    });
}
