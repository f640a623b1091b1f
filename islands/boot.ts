/**
 * Hydration: every server-rendered island with the props the server serialised. Islands hydrate
 * one at a time, yielding between them, and a failure in one never stops the others.
 * `data-hydrated` marks success (tests and curious people can see it).
 */
import { type ComponentType, h, hydrate } from "preact";

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

/** Hydrates the page's islands found in `islands` (by name). */
export async function boot(
  // deno-lint-ignore no-explicit-any
  islands: Record<string, ComponentType<any>>,
): Promise<void> {
  const props = readProps();
  for (const el of Array.from(document.querySelectorAll<HTMLElement>("ds-island"))) {
    const name = el.dataset.name ?? "";
    const Component = islands[name];
    if (!Component) continue;
    try {
      hydrate(h(Component, props[Number(el.dataset.props)] ?? {}), el);
      el.dataset.hydrated = "1";
    } catch (e) {
      console.error(`Island ${name} failed to hydrate`, e);
    }
    await new Promise((r) => setTimeout(r, 0));
  }
}
