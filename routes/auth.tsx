/**
 * `/login` and `/logout`: a server-rendered sign-in form (works without JavaScript, so the strict
 * CSP costs nothing) that trades the access token for an HttpOnly, SameSite=Strict session cookie
 * whose value is an HMAC of the token, never the token itself.
 */
import { Hono } from "./hono.ts";
import type { Context } from "hono";
import { deleteCookie, setCookie } from "hono/cookie";
import { z } from "zod";
import type { AppContext } from "../lib/context.ts";
import { readForm } from "../lib/http/body.ts";
import {
  safeNextPath,
  SESSION_TTL_SECONDS,
  sessionCookieName,
  sessionCookieValue,
  tokensEqual,
} from "../lib/http/security.ts";
import { parseInput } from "../lib/http/validate.ts";
import { renderDocument } from "../lib/islands/render.ts";
import { clientAddress, isAuthenticated, requestHost } from "./security.ts";

const LoginForm = z.object({
  token: z.string().max(4096, "The token is too long").default(""),
  next: z.string().max(2048).optional(),
});

function isHttps(c: Context): boolean {
  const forwarded = c.req.header("x-forwarded-proto")?.split(",")[0].trim().toLowerCase();
  return new URL(c.req.url).protocol === "https:" || forwarded === "https";
}

function LoginPage({ next, error }: { next: string; error?: string }) {
  return (
    <main id="main">
      <h1>Sign in to deepstudio</h1>
      <form method="post" action="/login" class="panel">
        <input type="hidden" name="next" value={next} />
        <div class="field">
          <label for="token">Access token</label>
          <p class="desc" id="token-desc">
            The token deepstudio was started with (<code>--access-token</code> or{" "}
            <code>DEEPSTUDIO_ACCESS_TOKEN</code>).
          </p>
          <input
            id="token"
            name="token"
            type="password"
            autocomplete="current-password"
            required
            autofocus
            aria-describedby={error ? "token-desc token-err" : "token-desc"}
            aria-invalid={error ? true : undefined}
          />
          {error && <p class="err" id="token-err" role="alert">{error}</p>}
        </div>
        <div class="row">
          <button type="submit">Sign in</button>
        </div>
      </form>
    </main>
  );
}

function SignedInPage({ next }: { next: string }) {
  return (
    <main id="main">
      <h1>Signed in</h1>
      <div class="panel">
        <p>
          You are signed in to this deepstudio. <a href={next}>Continue</a>
        </p>
        <form method="post" action="/logout">
          <button type="submit" class="secondary">Sign out</button>
        </form>
      </div>
    </main>
  );
}

/** 429 for the form: the page says how long to wait; `retry-after` says it to machines. */
function throttledPage(c: Context, seconds: number): Response {
  return c.html(
    renderDocument(
      "Sign in",
      <LoginPage
        next="/"
        error={`Too many wrong access tokens from this address; try again in ${seconds} s.`}
      />,
    ),
    429,
    { "retry-after": String(seconds) },
  );
}

/** The sign-in and sign-out routes. */
export function authRoutes(ctx: AppContext) {
  return new Hono()
    .get("/login", (c) => {
      const next = safeNextPath(c.req.query("next"));
      if (ctx.config.accessToken === "") return c.redirect(next, 303);
      c.header("cache-control", "no-store");
      if (isAuthenticated(ctx, c) === "ok") {
        return c.html(renderDocument("Signed in", <SignedInPage next={next} />));
      }
      return c.html(renderDocument("Sign in", <LoginPage next={next} />));
    })
    .post("/login", async (c) => {
      const token = ctx.config.accessToken;
      if (token === "") return c.redirect("/", 303);
      c.header("cache-control", "no-store");
      // Checked before the token is even read: a throttled address learns nothing.
      const address = clientAddress(c);
      const allowed = ctx.signIn.check(address);
      if (!allowed.ok) return throttledPage(c, allowed.retryAfterSeconds);
      const form = parseInput(LoginForm, await readForm(c.req.raw), "sign-in form");
      const next = safeNextPath(form.next);
      if (!tokensEqual(form.token, token)) {
        ctx.signIn.failed(address); // logs one line per escalation, not one per attempt
        return c.html(
          renderDocument(
            "Sign in",
            <LoginPage
              next={next}
              error="That is not the access token this deepstudio was started with."
            />,
          ),
          401,
        );
      }
      ctx.signIn.succeeded(address);
      setCookie(c, sessionCookieName(requestHost(c)), sessionCookieValue(token, ctx.now()), {
        httpOnly: true,
        sameSite: "Strict",
        path: "/",
        secure: isHttps(c),
        maxAge: SESSION_TTL_SECONDS,
      });
      return c.redirect(next, 303);
    })
    .post("/logout", (c) => {
      deleteCookie(c, sessionCookieName(requestHost(c)), {
        path: "/",
        httpOnly: true,
        sameSite: "Strict",
        secure: isHttps(c),
      });
      return c.redirect(ctx.config.accessToken === "" ? "/" : "/login", 303);
    });
}
