/**
 * One collection's page: add documents (drop zone or file picker, a server folder, a URL), the
 * documents table, live indexing progress from the collection's SSE events (speed, ETA, current
 * file, the typed error and a Resume button when paused), search with the matched terms
 * highlighted, and deletes that ask first. Everything works from the keyboard.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { api } from "./api.ts";
import type { CollectionView, LibraryDocument, Progress } from "../lib/library/types.ts";
import type { LibraryHit } from "../lib/library/search.ts";

/** Props: the collection and its documents as the server read them. */
export interface LibraryCollectionProps {
  collection: CollectionView;
  documents: LibraryDocument[];
  folderImport: boolean;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** `text` with every query word wrapped in <mark>. */
export function Highlighted({ text, query }: { text: string; query: string }) {
  const words = [...new Set(query.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [])].filter((w) =>
    w.length > 1
  );
  if (words.length === 0) return <>{text}</>;
  const re = new RegExp(`(${words.map(escapeRegExp).join("|")})`, "giu");
  return <>{text.split(re).map((part, i) => i % 2 ? <mark key={i}>{part}</mark> : part)}</>;
}

function seconds(s: number | null): string {
  if (s === null || !Number.isFinite(s)) return "—";
  return s < 60 ? `${Math.ceil(s)} s` : `${Math.floor(s / 60)} min ${Math.ceil(s % 60)} s`;
}

/** The collection page. */
export function LibraryCollection(props: LibraryCollectionProps) {
  const [collection, setCollection] = useState(props.collection);
  const [docs, setDocs] = useState(props.documents);
  const [progress, setProgress] = useState<Progress | null>(null);
  const [message, setMessage] = useState("");
  const [folder, setFolder] = useState("");
  const [url, setUrl] = useState("");
  const [query, setQuery] = useState("");
  const [hits, setHits] = useState<LibraryHit[] | null>(null);
  const [searchNote, setSearchNote] = useState("");
  const [dragging, setDragging] = useState(false);
  const fileInput = useRef<HTMLInputElement>(null);
  const id = collection.id;

  useEffect(() => {
    const source = new EventSource(`/api/collections/${id}/events`);
    source.addEventListener("snapshot", (e) => {
      const data = JSON.parse((e as MessageEvent).data);
      setCollection(data.collection);
      setDocs(data.documents);
    });
    source.addEventListener("progress", (e) => setProgress(JSON.parse((e as MessageEvent).data)));
    source.addEventListener(
      "collection",
      (e) => setCollection(JSON.parse((e as MessageEvent).data)),
    );
    source.addEventListener("document", (e) => {
      const d = JSON.parse((e as MessageEvent).data) as LibraryDocument;
      setDocs((all) =>
        all.some((x) => x.id === d.id) ? all.map((x) => x.id === d.id ? d : x) : [...all, d]
      );
    });
    return () => source.close();
  }, [id]);

  async function refreshDocs() {
    const res = await api<{ documents: LibraryDocument[] }>(
      "GET",
      `/api/collections/${id}/documents`,
    );
    // Live events may already have moved a document further than this answer says (it can
    // arrive after them): known documents keep their live state, new ones are added, gone ones go.
    if (res.ok) {
      const fresh = res.data.documents;
      setDocs((live) => {
        const known = new Map(live.map((d) => [d.id, d]));
        return fresh.map((d) => known.get(d.id) ?? d);
      });
    }
  }

  async function upload(files: FileList | File[]) {
    const list = [...files];
    if (list.length === 0) return;
    const form = new FormData();
    for (const f of list) form.append("files", f);
    setMessage(`Uploading ${list.length} file${list.length === 1 ? "" : "s"}…`);
    const res = await api<{ uploads: { duplicate?: boolean; error?: string }[] }>(
      "POST",
      `/api/collections/${id}/documents`,
      form,
    );
    if (!res.ok) return setMessage(res.error.message);
    const { uploads } = res.data;
    const dupes = uploads.filter((u) => u.duplicate).length;
    const bad = uploads.flatMap((u) => u.error ? [u.error] : []);
    setMessage(
      [
        `Added ${list.length - dupes - bad.length}.`,
        dupes ? `${dupes} already in the collection.` : "",
        ...bad,
      ].filter(Boolean).join(" "),
    );
    await refreshDocs();
  }

  async function addJson(body: unknown, done: () => void) {
    setMessage("Adding…");
    const res = await api<
      {
        added?: number;
        changed?: number;
        removed?: number;
        unchanged?: number;
        duplicate?: boolean;
      }
    >(
      "POST",
      `/api/collections/${id}/documents`,
      body,
    );
    if (!res.ok) return setMessage(res.error.message);
    const r = res.data;
    setMessage(
      r.added !== undefined
        ? `Folder scanned: ${r.added} new, ${r.changed} changed, ${r.removed} removed, ${r.unchanged} unchanged.`
        : r.duplicate
        ? "That page is already in the collection."
        : "Added.",
    );
    done();
    await refreshDocs();
  }

  async function search(e: Event) {
    e.preventDefault();
    setSearchNote("Searching…");
    const res = await api<
      { results: LibraryHit[]; tookMs: number; degraded?: { message: string } }
    >(
      "GET",
      `/api/search?q=${encodeURIComponent(query)}&collections=${id}&k=10`,
    );
    if (!res.ok) {
      setHits(null);
      return setSearchNote(res.error.message);
    }
    setHits(res.data.results);
    setSearchNote(
      `${res.data.results.length} result${
        res.data.results.length === 1 ? "" : "s"
      } in ${res.data.tookMs} ms` +
        (res.data.degraded ? ` (keywords only: ${res.data.degraded.message})` : ""),
    );
  }

  async function removeDoc(d: LibraryDocument) {
    if (!confirm(`Remove “${d.name}” and its chunks from this collection?`)) return;
    const res = await api("DELETE", `/api/collections/${id}/documents/${d.id}`);
    if (res.ok) setDocs((all) => all.filter((x) => x.id !== d.id));
    else setMessage(res.error.message);
  }

  async function removeCollection() {
    if (!confirm(`Delete the collection “${collection.name}” and its whole index?`)) return;
    const res = await api("DELETE", `/api/collections/${id}`);
    if (res.ok) location.href = "/library";
    else setMessage(res.error.message);
  }

  const p = progress;
  const busy = collection.state === "indexing";
  const percent = p && p.docsTotal ? Math.round((p.docsDone / p.docsTotal) * 100) : 0;
  return (
    <div class="library">
      <div class="row spread">
        <h1>{collection.name}</h1>
        <button type="button" class="button secondary" onClick={removeCollection}>
          Delete collection
        </button>
      </div>
      <p class="muted">
        <code>{collection.index.model}</code> ·{" "}
        <span class={`state state-${collection.state}`}>{collection.state}</span> · {docs.length}
        {" "}
        documents · {docs.reduce((n, d) => n + (d.state === "indexed" ? d.chunks : 0), 0)} chunks
      </p>

      {(busy || collection.state === "paused") && (
        <section class="panel" aria-label="Indexing progress">
          <progress max={100} value={percent} aria-label="Documents indexed">{percent}%</progress>
          <p class="small" role="status">
            {p
              ? `${p.docsDone} of ${p.docsTotal} documents · ${p.chunksEmbedded} chunks embedded · `
              : ""}
            {p?.chunksPerSecond
              ? `${p.chunksPerSecond.toFixed(1)} chunks/s · ETA ${seconds(p.etaSeconds)}`
              : "starting…"}
            {p?.currentFile ? ` · ${p.currentFile}` : ""}
          </p>
          {collection.state === "paused" && collection.error && (
            <div class="notice bad" role="alert">
              <strong>{collection.error.title}</strong>: {collection.error.message}
              <p>{collection.error.hint}</p>
              <button
                type="button"
                class="button"
                onClick={async () => {
                  const res = await api<CollectionView>("PATCH", `/api/collections/${id}`, {
                    state: "indexing",
                  });
                  if (res.ok) {
                    setCollection(res.data);
                  }
                }}
              >
                Resume
              </button>
            </div>
          )}
        </section>
      )}

      <section class="panel" aria-labelledby="add-docs">
        <h2 id="add-docs">Add documents</h2>
        <div
          class={`dropzone${dragging ? " dragging" : ""}`}
          onDragOver={(e) => {
            e.preventDefault();
            setDragging(true);
          }}
          onDragLeave={() => setDragging(false)}
          onDrop={(e) => {
            e.preventDefault();
            setDragging(false);
            if (e.dataTransfer?.files) upload(e.dataTransfer.files);
          }}
        >
          <span>Drop files here, or</span>
          <button
            type="button"
            id="choose-files"
            class="button secondary"
            aria-describedby="drop-help"
            onClick={() => fileInput.current?.click()}
          >
            Choose files…
          </button>
          <span id="drop-help" class="small muted">
            .pdf, .docx, .md, .txt, .html — up to 50 MiB each
          </span>
        </div>
        <input
          ref={fileInput}
          id="file-input"
          class="sr-only"
          type="file"
          multiple
          accept=".pdf,.docx,.md,.markdown,.txt,.html,.htm"
          tabIndex={-1}
          aria-hidden="true"
          onChange={(e) => upload((e.target as HTMLInputElement).files ?? [])}
        />
        <form
          class="row"
          onSubmit={(e) => {
            e.preventDefault();
            addJson({ path: folder }, () => setFolder(""));
          }}
        >
          <label for="folder-path">Add folder</label>
          <input
            id="folder-path"
            class="grow"
            value={folder}
            disabled={!props.folderImport}
            placeholder={props.folderImport ? "/path/on/the/server" : ""}
            onInput={(e) => setFolder((e.target as HTMLInputElement).value)}
          />
          <button class="button secondary" type="submit" disabled={!props.folderImport}>
            Add folder
          </button>
        </form>
        {!props.folderImport && (
          <p class="small muted">
            Folder import is off: start deepstudio with <code>--library-roots DIR</code> (or{" "}
            <code>DEEPSTUDIO_LIBRARY_ROOTS</code>) to allow folders under DIR.
          </p>
        )}
        <form
          class="row"
          onSubmit={(e) => {
            e.preventDefault();
            addJson({ url }, () => setUrl(""));
          }}
        >
          <label for="doc-url">Add URL</label>
          <input
            id="doc-url"
            class="grow"
            type="url"
            value={url}
            placeholder="https://…"
            onInput={(e) => setUrl((e.target as HTMLInputElement).value)}
          />
          <button class="button secondary" type="submit">Add URL</button>
        </form>
        {message && <p class="small" role="status" id="library-message">{message}</p>}
      </section>

      <section class="panel" aria-labelledby="search-h">
        <h2 id="search-h">Search this collection</h2>
        <form class="row" role="search" onSubmit={search}>
          <label for="library-q" class="sr-only">Search</label>
          <input
            id="library-q"
            class="grow"
            type="search"
            value={query}
            required
            onInput={(e) => setQuery((e.target as HTMLInputElement).value)}
          />
          <button class="button" type="submit">Search</button>
        </form>
        {searchNote && <p class="small muted" role="status">{searchNote}</p>}
        {hits && (
          <ol class="library-hits">
            {hits.map((h) => (
              <li key={`${h.documentId}:${h.location.start}`}>
                <div class="small">
                  <strong>{h.title}</strong>
                  {h.location.page ? ` · page ${h.location.page}` : ""}
                  {h.location.heading ? ` · ${h.location.heading}` : ""}
                  {` · score ${h.score.toFixed(4)}`}
                </div>
                <p>
                  <Highlighted
                    text={h.text.length > 600 ? `${h.text.slice(0, 600)}…` : h.text}
                    query={query}
                  />
                </p>
              </li>
            ))}
          </ol>
        )}
      </section>

      <section aria-labelledby="docs-h">
        <h2 id="docs-h">Documents</h2>
        <table class="library-docs">
          <thead>
            <tr>
              <th>Name</th>
              <th>State</th>
              <th>Pages</th>
              <th>Chunks</th>
              <th>Reason</th>
              <th>
                <span class="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {docs.map((d) => (
              <tr key={d.id} data-doc={d.name}>
                <td>{d.name}</td>
                <td>
                  <span class={`state state-${d.state}`}>{d.state}</span>
                </td>
                <td>{d.pages ?? ""}</td>
                <td>{d.state === "indexed" ? d.chunks : ""}</td>
                <td class="small">{d.error ?? ""}</td>
                <td>
                  <button
                    type="button"
                    class="button secondary small"
                    onClick={() => removeDoc(d)}
                    aria-label={`Remove ${d.name}`}
                  >
                    Remove
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
    </div>
  );
}
