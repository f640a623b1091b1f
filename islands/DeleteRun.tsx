/**
 * The History page's delete button: the only interactive part of that page, so it is the island
 * (the table itself is plain server HTML). On success it greys out its row.
 */
import { useRef, useState } from "preact/hooks";
import { api } from "./api.ts";

/** Props: the run to delete and a short name for the confirmation. */
export interface DeleteRunProps {
  id: string;
  label: string;
}

/** A delete button for one run. */
export function DeleteRun({ id, label }: DeleteRunProps) {
  const [state, setState] = useState("");
  const ref = useRef<HTMLButtonElement>(null);
  async function remove() {
    if (!confirm(`Delete “${label}”? This removes its report and events.`)) return;
    setState("…");
    const res = await api("DELETE", `/api/research/${encodeURIComponent(id)}`);
    if (res.ok) {
      ref.current?.closest("tr")?.classList.add("deleted");
      setState("Deleted");
    } else setState(res.error.message);
  }
  return state === "Deleted" ? <span role="status">Deleted</span> : (
    <>
      <button
        ref={ref}
        type="button"
        class="secondary small"
        aria-label={`Delete ${label}`}
        onClick={remove}
      >
        Delete
      </button>
      {state && state !== "…" && <span class="err" role="alert">{state}</span>}
    </>
  );
}
