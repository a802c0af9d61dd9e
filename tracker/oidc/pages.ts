/**
 * The embedded provider's pages: login, device code entry and confirmation, logout. Plain
 * HTML forms — no script, labelled fields, one heading, errors announced with
 * `role="alert"` — so they work in any browser, a screen reader and a test's `fetch`.
 * CSRF: every form posts to a URL bound to the provider's interaction uid (login) or
 * carries the provider's xsrf field (device, logout), both tied to the provider's cookies.
 */

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml (text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`)
}

const STYLE = 'body{font:16px/1.5 system-ui,sans-serif;max-width:24rem;margin:3rem auto;padding:0 1rem}label{display:block;margin-top:1rem}input{font:inherit;width:100%;padding:.4rem;box-sizing:border-box}button{font:inherit;margin-top:1.2rem;padding:.4rem 1.2rem}[role=alert]{color:#b00020}'

export function page (title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">` +
    `<title>${escapeHtml(title)} · Branchcast</title><style>${STYLE}</style></head><body><main><h1>${escapeHtml(title)}</h1>${body}</main></body></html>`
}

export interface LoginPageInput {
  /** where the form posts: the interaction's own URL (its uid is the CSRF binding) */
  action: string
  /** which application asked (client id) */
  client: string
  user?: string
  error?: string
}

export function loginPage ({ action, client, user, error }: LoginPageInput): string {
  return page('Sign in', `<p>to continue to <strong>${escapeHtml(client)}</strong></p>` +
    (error === undefined ? '' : `<p role="alert">${escapeHtml(error)}</p>`) +
    `<form method="post" action="${escapeHtml(action)}">` +
    `<label for="user">User name</label><input id="user" name="user" autocomplete="username" required autofocus value="${escapeHtml(user ?? '')}">` +
    '<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>' +
    '<button type="submit">Sign in</button></form>')
}

/** The provider's device-code form (`form` holds its xsrf field and the code input). */
export function deviceCodePage (form: string, error: string | undefined): string {
  return page('Connect a device', (error === undefined ? '<p id="code-help">Enter the code <code>branchcast login</code> shows on the desk.</p>' : `<p role="alert" id="code-help">${escapeHtml(error)}</p>`) +
    form.replace('name="user_code"', 'name="user_code" aria-label="Code" aria-describedby="code-help"') + '<button type="submit" form="op.deviceInputForm">Continue</button>')
}

export function deviceConfirmPage (form: string, client: string, userCode: string): string {
  return page('Confirm the device', `<p><strong>${escapeHtml(client)}</strong> asks to sign in as you. Check that the desk shows this code:</p>` +
    `<p><code>${escapeHtml(userCode)}</code></p>${form}` +
    '<button type="submit" form="op.deviceConfirmForm">Yes, sign it in</button> ' +
    '<button type="submit" form="op.deviceConfirmForm" name="abort" value="yes">No, abort</button>')
}

export function deviceDonePage (): string {
  return page('Device signed in', '<p>You can close this window and go back to the desk.</p>')
}

export function logoutPage (form: string): string {
  return page('Sign out', `<p>Sign out of Branchcast?</p>${form}<button type="submit" form="op.logoutForm" name="logout" value="yes">Sign out</button>`)
}

export function loggedOutPage (): string {
  return page('Signed out', '<p>You are signed out.</p>')
}
