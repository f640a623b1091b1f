/**
 * The Library page: every collection with its model, state and counts, and a form to create
 * one (name, embedding model). Creating goes straight to the new collection's page.
 */
import { useState } from "preact/hooks";
import { api } from "./api.ts";
import type { CollectionView } from "../lib/library/types.ts";

/** Props: the collections as the server read them. */
export interface LibraryHomeProps {
  collections: CollectionView[];
  defaultModel: string;
}

/** The collections list and the create form. */
export function LibraryHome({ collections, defaultModel }: LibraryHomeProps) {
  const [name, setName] = useState("");
  const [model, setModel] = useState(defaultModel);
  const [error, setError] = useState("");
  async function create(e: Event) {
    e.preventDefault();
    setError("");
    const res = await api<CollectionView>("POST", "/api/collections", { name, model });
    if (res.ok) location.href = `/library/${res.data.id}`;
    else setError(res.error.message);
  }
  return (
    <>
      {collections.length === 0
        ? <p class="muted">No collections yet. Create one, then add documents to it.</p>
        : (
          <table class="library-collections">
            <thead>
              <tr>
                <th>Collection</th>
                <th>Model</th>
                <th>State</th>
                <th>Documents</th>
                <th>Chunks</th>
              </tr>
            </thead>
            <tbody>
              {collections.map((c) => (
                <tr key={c.id}>
                  <td>
                    <a href={`/library/${c.id}`}>{c.name}</a>
                  </td>
                  <td>
                    <code>{c.index.model}</code>
                  </td>
                  <td>
                    <span class={`state state-${c.state}`}>{c.state}</span>
                  </td>
                  <td>{c.documents}{c.failed ? ` (${c.failed} failed)` : ""}</td>
                  <td>{c.chunks}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      <form class="panel" onSubmit={create} aria-labelledby="new-collection">
        <h2 id="new-collection">New collection</h2>
        <div class="field">
          <label for="collection-name">Name</label>
          <input
            id="collection-name"
            value={name}
            required
            maxLength={200}
            onInput={(e) => setName((e.target as HTMLInputElement).value)}
          />
        </div>
        <div class="field">
          <label for="collection-model">Embedding model</label>
          <input
            id="collection-model"
            value={model}
            required
            onInput={(e) => setModel((e.target as HTMLInputElement).value)}
          />
          <p class="desc">
            Served by LM Studio; its bundled model is{" "}
            <code>{defaultModel}</code>. A collection never mixes models.
          </p>
        </div>
        {error && <p class="notice bad" role="alert">{error}</p>}
        <button class="button" type="submit">Create collection</button>
      </form>
    </>
  );
}
