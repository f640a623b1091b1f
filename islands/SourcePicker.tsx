/**
 * Where a run looks, chosen on the Research form: the web (SearXNG), the Library and which of
 * its collections, or neither (model knowledge, "no sources"). Starts from the `search.engine`
 * and `search.library.collections` settings; the choice goes with the run as `sources` and does
 * not change the settings. Plain checkboxes, so Tab and Space are all a keyboard needs.
 */
import { useEffect, useState } from "preact/hooks";
import { api } from "./api.ts";

/** The engines the picker offers, in order. */
export const PICKABLE = [
  { id: "searxng", label: "Web (SearXNG)" },
  { id: "library", label: "Library" },
] as const;

/** A collection as the picker lists it. */
interface PickCollection {
  id: string;
  name: string;
  documents?: number;
}

/** Props: the current choice and where to report changes. */
export interface SourcePickerProps {
  value: string[];
  onChange(engines: string[]): void;
  /** Chosen collection ids; null until the list loaded and the defaults applied. */
  collections: string[] | null;
  onCollections(ids: string[]): void;
  /** The `search.library.collections` setting: names or ids, comma-separated; empty: all. */
  defaults: string;
}

/** The collections the setting names (by id or name, ignoring case); all when it names none. */
export function defaultPick(list: readonly PickCollection[], defaults: string): string[] {
  const wanted = defaults.split(",").map((s) => s.trim().toLowerCase()).filter(Boolean);
  const picked = list.filter((c) =>
    wanted.includes(c.id.toLowerCase()) || wanted.includes(c.name.toLowerCase())
  );
  return (picked.length ? picked : list).map((c) => c.id);
}

/** The picker: checkboxes; none checked means model knowledge only. */
export function SourcePicker(props: SourcePickerProps) {
  const { value, onChange } = props;
  const on = new Set(value.filter((e) => e !== "none"));
  const [list, setList] = useState<PickCollection[] | null>(null);
  const [listErr, setListErr] = useState("");
  const library = on.has("library");

  useEffect(() => {
    if (!library || list) return;
    api<{ collections: PickCollection[] }>("GET", "/api/collections").then((r) => {
      if (!r.ok) return setListErr(r.error.message);
      setList(r.data.collections);
      if (props.collections === null) {
        props.onCollections(defaultPick(r.data.collections, props.defaults));
      }
    });
  }, [library]);

  const toggle = (id: string, checked: boolean) => {
    const next = PICKABLE.map((p) => p.id).filter((p) => p === id ? checked : on.has(p));
    onChange(next.length ? next : ["none"]);
  };
  const picked = new Set(props.collections ?? []);
  const pick = (id: string, checked: boolean) =>
    props.onCollections(
      (list ?? []).map((c) => c.id).filter((c) => c === id ? checked : picked.has(c)),
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
      {library && (
        <fieldset class="collection-picker" id="collection-picker">
          <legend>Library collections</legend>
          {listErr && <p class="muted small">Could not list the collections: {listErr}</p>}
          {list === null && !listErr && <p class="muted small">Loading collections…</p>}
          {list?.length === 0 && (
            <p class="muted small">
              No collections yet: <a href="/library">add one on the Library page</a>.
            </p>
          )}
          {!!list?.length && (
            <div class="row">
              {list.map((c) => (
                <label key={c.id} class="check">
                  <input
                    type="checkbox"
                    name="collection"
                    value={c.id}
                    checked={picked.has(c.id)}
                    onChange={(e) => pick(c.id, e.currentTarget.checked)}
                  />{" "}
                  {c.name}
                </label>
              ))}
            </div>
          )}
          {!!list?.length && picked.size === 0 && (
            <p class="muted small" role="alert">
              Choose at least one collection, or untick Library.
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

/** What the form sends as `sources`, or null while the Library is on with no collection ticked. */
export function sourcesBody(
  engines: string[],
  collections: string[] | null,
): { engines: string[]; collections?: string[] } | null {
  if (!engines.includes("library") || collections === null) return { engines };
  return collections.length ? { engines, collections } : null;
}
