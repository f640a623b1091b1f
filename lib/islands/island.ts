/**
 * Server side of the island protocol (a small version of Fresh's). `Island` renders its component
 * inside a `<ds-island data-name data-props>` marker (styled `display: contents`) and records the
 * props; `renderWithIslands` collects them so the page can emit one JSON script that the client
 * reads to hydrate. Inside another island, or on the client, `Island` renders the plain component,
 * so nested islands hydrate as part of their parent.
 */
import { createContext, type FunctionComponent, h, type VNode } from "preact";
import { useContext } from "preact/hooks";
import { type IslandName, type IslandProps, ISLANDS } from "../../islands/registry.ts";

const InsideIsland = createContext(false);
let collecting: unknown[] | null = null;
let names: string[] = [];

/** Marks an interactive component for hydration. Props must be JSON-serialisable. */
export function Island<N extends IslandName>(
  { name, props }: { name: N; props: IslandProps<N> },
): VNode {
  // deno-lint-ignore no-explicit-any
  const Component = ISLANDS[name] as FunctionComponent<any>;
  // deno-lint-ignore react-rules-of-hooks
  const inside = useContext(InsideIsland);
  if (inside || collecting === null) return h(Component, props);
  const index = collecting.push(props) - 1;
  names.push(name);
  const marker = { "data-name": name, "data-props": String(index) } as Record<string, string>;
  return h("ds-island", marker, h(InsideIsland.Provider, { value: true }, h(Component, props)));
}

/**
 * Runs a synchronous render and returns what it produced, the islands' props table and the
 * names of the islands used (for picking the page's bundle).
 */
export function renderWithIslands<T>(
  render: () => T,
): { result: T; props: unknown[]; names: string[] } {
  const previous = collecting;
  const previousNames = names;
  collecting = [];
  names = [];
  try {
    const result = render();
    return { result, props: collecting, names: [...new Set(names)] };
  } finally {
    collecting = previous;
    names = previousNames;
  }
}

/** JSON for a `<script type="application/json">`: no `</script`, `<!--` or line separators. */
export function serializeProps(props: unknown[]): string {
  return JSON.stringify(props)
    .replaceAll("<", "\\u003c")
    .replaceAll(">", "\\u003e")
    .replaceAll("&", "\\u0026")
    .replaceAll("\u2028", "\\u2028")
    .replaceAll("\u2029", "\\u2029");
}
