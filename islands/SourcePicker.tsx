/**
 * Where a run looks, chosen on the Research form: the web (SearXNG), Wikipedia, the Library and
 * which of its collections, or neither (model knowledge, "no sources"). Starts from the
 * `search.engine` and `search.library.collections` settings (the page brings the collections and
 * the ones ticked at first); the choice goes with the run as `sources` and does not change the
 * settings. Plain checkboxes, so Tab and Space are all a keyboard needs.
 */

/** The engines the picker offers, in order. */
export const PICKABLE = [
  { id: "searxng", label: "Web (SearXNG)" },
  { id: "library", label: "Library" },
  { id: "wikipedia", label: "Wikipedia (online)" },
  { id: "arxiv", label: "arXiv (online)" },
] as const;

/** Props: the current choice and where to report changes. */
export interface SourcePickerProps {
  value: string[];
  onChange(engines: string[]): void;
  /** The Library's collections, and the ids ticked. */
  list: { id: string; name: string }[];
  collections: string[];
  onCollections(ids: string[]): void;
}

/** The picker: checkboxes; none checked means model knowledge only. */
export function SourcePicker(
  { value, onChange, list, collections, onCollections }: SourcePickerProps,
) {
  const on = new Set(value.filter((e) => e !== "none"));
  const toggle = (id: string, checked: boolean) => {
    const next = PICKABLE.map((p) => p.id).filter((p) => p === id ? checked : on.has(p));
    onChange(next.length ? next : ["none"]);
  };
  const pick = (id: string, checked: boolean) =>
    onCollections(
      list.map((c) => c.id).filter((c) => c === id ? checked : collections.includes(c)),
    );
  return (
    <fieldset class="source-picker" id="source-picker">
      <legend>Sources</legend>
      <div class="row">
        {PICKABLE.map((p) => (
          <label key={p.id} class="check">
            <input
              type="checkbox"
              name={`source-${p.id}`}
              checked={on.has(p.id)}
              onChange={(e) => toggle(p.id, e.currentTarget.checked)}
            />{" "}
            {p.label}
          </label>
        ))}
      </div>
      {on.has("library") && (
        <fieldset class="collection-picker" id="collection-picker">
          <legend>Collections</legend>
          {list.length
            ? (
              <div class="row">
                {list.map((c) => (
                  <label key={c.id} class="check">
                    <input
                      type="checkbox"
                      name="collection"
                      value={c.id}
                      checked={collections.includes(c.id)}
                      onChange={(e) => pick(c.id, e.currentTarget.checked)}
                    />{" "}
                    {c.name}
                  </label>
                ))}
              </div>
            )
            : (
              <p class="muted small">
                No collections yet: <a href="/library">add one</a>.
              </p>
            )}
          {list.length > 0 && !collections.length && (
            <p class="muted small" role="alert">
              Tick a collection, or untick Library.
            </p>
          )}
        </fieldset>
      )}
      {on.size === 0 && (
        <p class="muted small">
          No sources: the answer comes from the model alone and cites nothing.
        </p>
      )}
    </fieldset>
  );
}

/**
 * What the form sends as `sources`, or null while the Library is on with collections to choose
 * from and none ticked (without any, the run says the Library has none).
 */
export function sourcesBody(
  engines: string[],
  collections: string[],
  offered: number,
): { engines: string[]; collections?: string[] } | null {
  if (!engines.includes("library") || !offered) return { engines };
  return collections.length ? { engines, collections } : null;
}
