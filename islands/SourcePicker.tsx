/**
 * Where a run looks, chosen on the Research form: the web (SearXNG), the Library, or neither
 * (model knowledge, "no sources"). Starts from the `search.engine` setting; the choice goes with
 * the run as `sources.engines` and does not change the setting.
 */

/** The engines the picker offers, in order. */
export const PICKABLE = [
  { id: "searxng", label: "Web (SearXNG)" },
  { id: "library", label: "Library" },
] as const;

/** Props: the current choice and where to report changes. */
export interface SourcePickerProps {
  value: string[];
  onChange(engines: string[]): void;
}

/** The picker: checkboxes; none checked means model knowledge only. */
export function SourcePicker({ value, onChange }: SourcePickerProps) {
  const on = new Set(value.filter((e) => e !== "none"));
  const toggle = (id: string, checked: boolean) => {
    const next = PICKABLE.map((p) => p.id).filter((p) => p === id ? checked : on.has(p));
    onChange(next.length ? next : ["none"]);
  };
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
      {on.size === 0 && (
        <p class="muted small">
          No sources: the answer comes from the model alone and cites nothing.
        </p>
      )}
    </fieldset>
  );
}
