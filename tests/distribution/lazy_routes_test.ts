/**
 * The page routes declared up front in routes/lazy.ts are exactly the routes their modules serve
 * (a page added to routes/pages.tsx but not declared would answer 404), and a lazily loaded page
 * answers like an eagerly mounted one: its errors reach the app's error handler.
 */
import { assert, assertEquals } from "../assert.ts";
import { testApp } from "../helpers.ts";
import { createContext } from "../../app.ts";
import {
  AUTH_ROUTES,
  LIBRARY_PAGE_ROUTES,
  LIBRARY_ROUTES,
  MODEL_ROUTES,
  PAGE_ROUTES,
  PREFLIGHT_ROUTES,
  PROVIDER_ROUTES,
  RESEARCH_ROUTES,
  SEARCH_ROUTES,
  SOURCES_ROUTES,
} from "../../routes/lazy.ts";
import { pageRoutes } from "../../routes/pages.tsx";
import { libraryPageRoutes } from "../../routes/library_pages.tsx";
import { authRoutes } from "../../routes/auth.tsx";
import { libraryRoutes } from "../../routes/library.ts";
import { modelRoutes } from "../../routes/models.ts";
import { preflightRoutes } from "../../routes/preflight.ts";
import { providerRoutes } from "../../routes/providers.ts";
import { researchRoutes } from "../../routes/research.ts";
import { searchRoutes } from "../../routes/search.ts";
import { sourcesRoutes } from "../../routes/sources.ts";

const key = (r: { method: string; path: string }) => `${r.method} ${r.path}`;
const declared = (list: readonly (readonly [string, string])[]) =>
  list.map(([method, path]) => `${method} ${path}`).sort();

Deno.test("the declared page routes are the routes route modules serve", async () => {
  const t = await testApp();
  try {
    assertEquals(
      declared(PAGE_ROUTES),
      pageRoutes(createContext({ kv: t.kv })).routes.map(key).sort(),
    );
    assertEquals(
      declared(AUTH_ROUTES),
      authRoutes(createContext({ kv: t.kv })).routes.map(key).sort(),
    );
    assertEquals(
      declared(LIBRARY_PAGE_ROUTES),
      libraryPageRoutes(createContext({ kv: t.kv })).routes.map(key).sort(),
    );
    const ctx = createContext({ kv: t.kv });
    assertEquals(declared(RESEARCH_ROUTES), researchRoutes(ctx).routes.map(key).sort());
    assertEquals(declared(SOURCES_ROUTES), sourcesRoutes(ctx).routes.map(key).sort());
    assertEquals(declared(PREFLIGHT_ROUTES), preflightRoutes(ctx).routes.map(key).sort());
    assertEquals(declared(SEARCH_ROUTES), searchRoutes(ctx).routes.map(key).sort());
    assertEquals(declared(LIBRARY_ROUTES), libraryRoutes(ctx).routes.map(key).sort());
    assertEquals(declared(PROVIDER_ROUTES), providerRoutes(ctx).routes.map(key).sort());
    assertEquals(declared(MODEL_ROUTES), modelRoutes(ctx).routes.map(key).sort());
  } finally {
    t.close();
  }
});

Deno.test("lazily loaded pages render, and their errors keep the app's error shape", async () => {
  const t = await testApp();
  try {
    const home = await t.app.request("/", { headers: { accept: "text/html" } });
    assertEquals(home.status, 200);
    assert((await home.text()).includes("<html"), "the research page rendered");
    const missing = await t.app.request(`/library/${crypto.randomUUID()}`, {
      headers: { accept: "application/json" },
    });
    assertEquals(missing.status, 404);
    assertEquals(((await missing.json()) as { error: { kind: string } }).error.kind, "not_found");
    const page404 = await t.app.request("/no-such-page", { headers: { accept: "text/html" } });
    assertEquals(page404.status, 404);
    assert((await page404.text()).includes("Page not found"));
    const wrongMethod = await t.app.request("/history", { method: "POST" });
    assertEquals(wrongMethod.status, 405);
  } finally {
    t.close();
  }
});
