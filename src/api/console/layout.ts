import { html, type Html, type Interpolation } from './html.js';
import type { Flash } from './session.store.js';
import { statusTone } from './format.js';

/** What every signed-in page shows in its header. */
export interface PageContext {
  readonly who: { readonly name: string; readonly role: 'viewer' | 'operator' };
  readonly csrf: string;
  readonly flash?: Flash | undefined;
}

export type Section = 'overview' | 'pipelines' | 'social' | 'incidents' | 'none';

const NAV: ReadonlyArray<readonly [Section, string, string]> = [
  ['overview', '/ui', 'Overview'],
  ['pipelines', '/ui/pipelines', 'Pipelines'],
  ['social', '/ui/social', 'Social'],
  ['incidents', '/ui/incidents', 'Incidents'],
];

function shell(title: string, header: Interpolation, body: Interpolation): Html {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${title} · Siphon</title>
        <link rel="stylesheet" href="/ui/assets/console.css" />
        <script src="/ui/assets/console.js" defer></script>
      </head>
      <body>
        <a class="skip" href="#main">Skip to content</a>
        ${header}
        <main id="main">${body}</main>
      </body>
    </html>`;
}

/** A signed-in page: navigation, who is signed in, sign-out, the flash message, then the body. */
export function page(ctx: PageContext, section: Section, title: string, body: Interpolation): Html {
  const header = html`<header class="top">
    <span class="brand">Siphon</span>
    <nav aria-label="Main">
      <ul>
        ${NAV.map(
          ([key, href, label]) =>
            html`<li><a href="${href}" ${key === section ? html`aria-current="page"` : ''}>${label}</a></li>`,
        )}
      </ul>
    </nav>
    <div class="who">
      <span>${ctx.who.name} (${ctx.who.role})</span>
      <form class="inline" method="post" action="/ui/sign-out">
        ${csrfField(ctx.csrf)}
        <button type="submit">Sign out</button>
      </form>
    </div>
  </header>`;
  return shell(title, header, [flashBox(ctx.flash), body]);
}

/** A page for someone not signed in (the sign-in form). */
export function publicPage(title: string, body: Interpolation): Html {
  return shell(title, html`<header class="top"><span class="brand">Siphon</span></header>`, body);
}

export function csrfField(token: string): Html {
  return html`<input type="hidden" name="_csrf" value="${token}" />`;
}

function flashBox(flash: Flash | undefined): Interpolation {
  if (!flash) return '';
  if (flash.kind === 'ok') return html`<p class="flash" role="status" data-tone="ok">${flash.message}</p>`;
  return html`<div class="flash" role="alert" data-tone="bad">
    <strong>Refused${flash.code ? html` (<code>${flash.code}</code>)` : ''}:</strong> ${flash.message}
  </div>`;
}

/** A status word with its colour: the word is always there, so colour is never the only signal. */
export function badge(status: string | null | undefined, field?: string): Html {
  const word = status ?? '—';
  return html`<span
    class="badge"
    data-tone="${statusTone(status)}"
    ${field ? html`data-field="${field}"` : ''}
    >${word}</span
  >`;
}
