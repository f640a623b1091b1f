/**
 * Auto-follow for a growing answer: while the person is at the bottom of the page, new text keeps
 * the newest line in view; once they scroll up, the page stays where they put it and a "Jump to
 * live" button appears. Checked on scroll and after each render of the stream. `hold()` stops
 * following without a scroll (the text was rearranged and the reader is kept at their block).
 */
import { useEffect, useRef, useState } from "preact/hooks";

/** How close to the bottom (px) still counts as "at the bottom". */
const SLACK = 80;

function atBottom(): boolean {
  const el = document.scrollingElement ?? document.documentElement;
  return el.scrollHeight - el.scrollTop - el.clientHeight <= SLACK;
}

/** Follows `target`'s growth while `active`; returns whether following, and a jump action. */
export function useFollow(
  target: { current: HTMLElement | null },
  active: boolean,
): { following: boolean; jump(): void; hold(): void; tracking(): boolean } {
  const [following, setFollowing] = useState(true);
  const follow = useRef(true);

  useEffect(() => {
    if (!active) return;
    const doc = document.scrollingElement ?? document.documentElement;
    let lastTop = doc.scrollTop;
    // Only the person scrolls up (the view's own scrolls go down to the newest line, and the
    // browser's scroll anchoring moves down as text grows): that, and only that, stops following.
    const onScroll = () => {
      const top = doc.scrollTop;
      if (atBottom()) follow.current = true;
      else if (top < lastTop - 1) follow.current = false;
      lastTop = top;
      setFollowing(follow.current);
    };
    const el = target.current;
    const grow = new ResizeObserver(() => {
      if (!follow.current || atBottom()) return;
      scrollTo({ top: document.documentElement.scrollHeight });
    });
    if (el) grow.observe(el);
    addEventListener("scroll", onScroll, { passive: true });
    return () => {
      grow.disconnect();
      removeEventListener("scroll", onScroll);
    };
  }, [active]);

  return {
    following: following || !active,
    hold() {
      follow.current = false;
    },
    /** Whether the view is keeping the newest line in view right now. */
    tracking: () => active && follow.current,
    jump() {
      follow.current = true;
      setFollowing(true);
      scrollTo({ top: document.documentElement.scrollHeight });
    },
  };
}
