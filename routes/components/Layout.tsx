/** The page frame every page shares: brand, navigation, main landmark. Server-only. */
import type { ComponentChildren } from "preact";
import { FAVICON } from "../../lib/assets.ts";

/** Top-level pages in navigation order. */
export const NAV = [
  { href: "/", label: "Research" },
  { href: "/history", label: "History" },
  { href: "/library", label: "Library" },
  { href: "/settings", label: "Settings" },
  { href: "/status", label: "Status" },
] as const;

/** Wraps a page's content. `active` is the nav href to mark as current. */
export function Layout({ active, children }: { active: string; children: ComponentChildren }) {
  return (
    <>
      <a class="sr-only skip" href="#main">Skip to content</a>
      <header class="top">
        <a class="brand" href="/">
          <img src={FAVICON.path} alt="" width={22} height={22} /> deepstudio
        </a>
        <nav aria-label="Main">
          {NAV.map((n) => (
            <a key={n.href} href={n.href} aria-current={n.href === active ? "page" : undefined}>
              {n.label}
            </a>
          ))}
        </nav>
      </header>
      <main id="main">{children}</main>
    </>
  );
}
