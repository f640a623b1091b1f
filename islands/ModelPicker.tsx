/**
 * The model picker, shared by the Research and Settings pages: the server's chat models with
 * their state and context, plus "Automatic". Clicking a model picks it at once; arrowing through
 * the list only moves the selection, which is picked with Enter or when focus leaves the list, so
 * walking past five models does not save five settings.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import type { ModelInfo } from "../lib/providers/types.ts";
import { ModelLoadControls } from "./ModelLoadControls.tsx";

/** Props: the models (null while unknown), the current value and what to do on a pick. */
export interface ModelPickerProps {
  models: ModelInfo[] | null;
  value: string;
  locked: boolean;
  onPick(id: string): void;
  /** When the server can load models (LM Studio 0.4+): called after a load or reload. */
  onLoaded?(id: string, contextLength: number): void;
}

function kb(n: number | null): string {
  return n == null ? "?" : n >= 1024 ? `${Math.round(n / 1024)}k` : String(n);
}

/** The list of models as radio buttons. */
export function ModelPicker(props: ModelPickerProps) {
  const { models, value, locked } = props;
  const [choice, setChoice] = useState(value);
  const pointer = useRef(false);
  const listRef = useRef<HTMLUListElement>(null);
  useEffect(() => setChoice(value), [value]);

  function commit(id: string) {
    if (id !== value) props.onPick(id);
  }

  if (!models) return null;
  return (
    <ul
      class="model-list"
      aria-label="Available models"
      ref={listRef}
      onPointerDown={() => (pointer.current = true)}
      onFocusOut={(e) => {
        const to = e.relatedTarget as Node | null;
        if (!to || !listRef.current?.contains(to)) commit(choice);
      }}
    >
      {[{ id: "" } as ModelInfo, ...models].map((m) => (
        <li key={m.id}>
          <label class="choice">
            <input
              type="radio"
              name="model-pick"
              value={m.id}
              checked={choice === m.id}
              disabled={locked}
              onChange={() => {
                setChoice(m.id);
                if (pointer.current) commit(m.id);
                pointer.current = false;
              }}
              onKeyDown={(e) => {
                pointer.current = false;
                if (e.key === "Enter") {
                  e.preventDefault(); // Enter would submit the form
                  commit(choice);
                }
              }}
            />
            {m.id
              ? (
                <span class="model-info">
                  <span class="model-name">{m.displayName || m.id}</span>
                  <span class={`badge ${m.state}`}>
                    {m.state === "not-loaded" ? "not loaded" : m.state}
                  </span>
                  <span class="muted small">
                    {m.state === "loaded"
                      ? `ctx ${kb(m.loadedContextLength)} of ${kb(m.maxContextLength)}`
                      : `max ctx ${kb(m.maxContextLength)}`}
                  </span>
                </span>
              )
              : <span class="model-name">Automatic (the one loaded model)</span>}
          </label>
          {m.id && props.onLoaded && <ModelLoadControls model={m} onLoaded={props.onLoaded} />}
        </li>
      ))}
    </ul>
  );
}
