/**
 * Browser entry: hydrates every server-rendered island with the props the server serialised.
 * Islands hydrate one at a time, yielding between them, and a failure in one never stops the
 * others. `data-hydrated` marks success (tests and curious people can see it).
 */
import { h, hydrate } from "preact";
import { type IslandName, ISLANDS } from "./registry.ts";

function readProps(): unknown[] {
  const el = document.getElementById("ds-islands");
  if (!el?.textContent) return [];
  try {
    const value = JSON.parse(el.textContent);
    return Array.isArray(value) ? value : [];
  } catch {
    return [];
  }
}

async function boot(): Promise<void> {
  const props = readProps();
  for (const el of Array.from(document.querySelectorAll<HTMLElement>("ds-island"))) {
    const name = el.dataset.name as IslandName;
    const Component = ISLANDS[name];
    if (!Component) continue;
    try {
      // deno-lint-ignore no-explicit-any
      hydrate(h(Component as any, props[Number(el.dataset.props)] ?? {}), el);
      el.dataset.hydrated = "1";
    } catch (e) {
      console.error(`Island ${name} failed to hydrate`, e);
    }
    await new Promise((r) => setTimeout(r, 0));
  }
}

boot();
