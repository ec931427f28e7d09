import { html, type Html } from './html.js';
import { publicPage } from './layout.js';

/** The sign-in form: a token, posted (never in a URL); `problem` says why the last try was refused. */
export function signInPage(problem?: string): Html {
  return publicPage(
    'Sign in',
    html`<h1>Sign in to Siphon</h1>
      ${problem ? html`<p class="flash" role="alert" data-tone="bad">${problem}</p>` : ''}
      <form class="stack" method="post" action="/ui/sign-in">
        <label
          >API token (viewer or operator)
          <input type="password" name="token" autocomplete="current-password" required maxlength="500" />
        </label>
        <button type="submit" class="primary">Sign in</button>
      </form>
      <p class="muted">
        The token is the one the API takes as <code>Authorization: Bearer</code>; it is not stored in the
        browser.
      </p>`,
  );
}

/** A refusal as a page (wrong role, missing form token, unknown page). */
export function problemPage(title: string, message: string, code?: string): Html {
  return publicPage(
    title,
    html`<h1>${title}</h1>
      <p role="alert">${code ? html`<code>${code}</code>: ` : ''}${message}</p>
      <p><a href="/ui">Back to the overview</a></p>`,
  );
}
