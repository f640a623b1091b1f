/**
 * The "No sources" badge of a run: shown when the answer comes from the model's knowledge alone,
 * by choice (no engine) or because nothing usable was found or every engine failed. Starts from
 * what the server knew at page load and follows the run's `citations` events (a re-run search
 * clears it), so a live run is labelled the moment its answer is.
 */
import { useEffect, useState } from "preact/hooks";
import { type SourcesFeed, startsSearch } from "./sources_feed.ts";

/** Props: the reason known at page load (null: the run has or may still find sources). */
export interface NoSourcesBadgeProps {
  feed: SourcesFeed;
  initial: string | null;
}

/** The badge, or nothing. */
export function NoSourcesBadge({ feed, initial }: NoSourcesBadgeProps) {
  const [reason, setReason] = useState(initial);
  useEffect(() =>
    feed.subscribe((e) => {
      // The final citations say whether the answer had sources; a search starting again resets.
      if (e.type === "citations" || startsSearch(e)) setReason(e.data.noSources as string ?? null);
    }), [feed]);
  return reason
    ? (
      <span class="no-sources muted small" role="note">
        <span class="badge no-sources-badge">No sources</span> {reason}
      </span>
    )
    : null;
}
