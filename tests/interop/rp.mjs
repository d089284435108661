// Interoperability relying party: panva's `openid-client` (v6) against the IdP.
//
// Inputs (environment): ISSUER, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, USERNAME, PASSWORD,
// CREDIT_CODE (an enterprise USERNAME represents).
// Drives a full browser-like login (cookie jar, manual redirects, HTML forms), then exercises
// the token, userinfo, refresh, introspection and revocation endpoints, a silent
// (prompt=none) re-authentication, and acting for the enterprise (the "act for" chooser,
// RFC 9396 authorization_details).  On success prints ONE JSON line on stdout and exits 0;
// on any failure prints a message on stderr and exits 1.

import { readFileSync } from 'node:fs';

import * as client from 'openid-client';

const REQUIRED = ['ISSUER', 'CLIENT_ID', 'CLIENT_SECRET', 'REDIRECT_URI', 'USERNAME', 'PASSWORD',
  'CREDIT_CODE'];
const {
  ISSUER, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, USERNAME, PASSWORD, CREDIT_CODE,
} = process.env;
const MATTERS_TYPE = 'cn_gov_enterprise_matters';
const SCOPE = 'openid profile phone';
const MAX_AGE = 600;
const MAX_REDIRECTS = 10;

class Failure extends Error {}

function fail(step, message) {
  throw new Failure(`[${step}] ${message}`);
}

function check(cond, step, message) {
  if (!cond) fail(step, message);
}

function excerpt(text, n = 600) {
  const s = String(text ?? '').replace(/\s+/g, ' ').trim();
  return s.length > n ? `${s.slice(0, n)}…` : s;
}

// ---------------------------------------------------------------------------
// Tiny cookie jar (single origin; ignores Path/Domain/Secure like a lenient browser on loopback)
// ---------------------------------------------------------------------------
class CookieJar {
  constructor() {
    this.cookies = new Map();
  }

  store(response) {
    const lines = typeof response.headers.getSetCookie === 'function'
      ? response.headers.getSetCookie()
      : [];
    for (const line of lines) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      let expired = false;
      for (const attr of attrs) {
        const [k, v = ''] = attr.split('=');
        const key = k.trim().toLowerCase();
        if (key === 'max-age' && Number(v.trim()) <= 0) expired = true;
        if (key === 'expires') {
          const t = Date.parse(v.trim());
          if (!Number.isNaN(t) && t < Date.now()) expired = true;
        }
      }
      if (expired) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  header() {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  names() {
    return [...this.cookies.keys()];
  }
}

// ---------------------------------------------------------------------------
// Minimal, attribute-order-tolerant HTML form parsing
// ---------------------------------------------------------------------------
function htmlUnescape(s) {
  return String(s)
    .replace(/&#x([0-9a-f]+);/gi, (_, h) => String.fromCodePoint(parseInt(h, 16)))
    .replace(/&#(\d+);/g, (_, d) => String.fromCodePoint(parseInt(d, 10)))
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

function parseAttrs(src) {
  const attrs = {};
  const re = /([^\s"'<>\/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g;
  let m;
  while ((m = re.exec(src)) !== null) {
    const name = m[1].toLowerCase();
    if (name in attrs) continue; // HTML: first occurrence wins
    const raw = m[2] ?? m[3] ?? m[4];
    attrs[name] = raw === undefined ? '' : htmlUnescape(raw);
  }
  return attrs;
}

function parseForms(html, pageUrl) {
  const forms = [];
  const formRe = /<form\b([^>]*)>([\s\S]*?)<\/form\s*>/gi;
  let m;
  while ((m = formRe.exec(html)) !== null) {
    const attrs = parseAttrs(m[1]);
    const body = m[2];
    const controls = [];
    const ctlRe = /<(input|button|select|textarea)\b([^>]*)>/gi;
    let c;
    while ((c = ctlRe.exec(body)) !== null) {
      controls.push({ tag: c[1].toLowerCase(), attrs: parseAttrs(c[2]) });
    }
    const action = new URL(attrs.action ?? '', pageUrl);
    action.hash = '';
    forms.push({
      method: (attrs.method || 'get').toLowerCase(),
      action: action.href,
      controls,
    });
  }
  return forms;
}

// Successful controls as a browser would submit them, with `submitter` the clicked button.
function formData(form, submitter) {
  const data = new URLSearchParams();
  for (const { tag, attrs } of form.controls) {
    if (!attrs.name || 'disabled' in attrs) continue;
    const type = (attrs.type || (tag === 'button' ? 'submit' : 'text')).toLowerCase();
    if (tag === 'button' || ['submit', 'image', 'reset', 'button'].includes(type)) {
      if (submitter && submitter === attrs) data.append(attrs.name, attrs.value ?? '');
      continue;
    }
    if ((type === 'checkbox' || type === 'radio') && !('checked' in attrs)) continue;
    if (tag === 'select' || tag === 'textarea' || type === 'file') continue;
    data.append(attrs.name, attrs.value ?? (type === 'checkbox' ? 'on' : ''));
  }
  return data;
}

function findControl(form, pred) {
  const hit = form.controls.find(({ tag, attrs }) => pred(tag, attrs));
  return hit ? hit.attrs : undefined;
}

// ---------------------------------------------------------------------------
// Browser-ish navigation: follows same-origin redirects, stops at the RP callback
// ---------------------------------------------------------------------------
async function navigate(jar, step, url, init = {}) {
  const origin = new URL(ISSUER).origin;
  let current = new URL(url);
  let method = init.method ?? 'GET';
  let body = init.body;
  const trail = [];
  for (let i = 0; i <= MAX_REDIRECTS; i += 1) {
    check(current.origin === origin, step,
      `refusing to follow a redirect off the provider origin: ${current.href}`);
    const headers = { accept: 'text/html,application/xhtml+xml' };
    const cookie = jar.header();
    if (cookie) headers.cookie = cookie;
    if (body !== undefined) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      headers.origin = origin;
      if (trail.length === 0 && init.referer) headers.referer = init.referer;
    }
    let res;
    try {
      res = await fetch(current, { method, headers, body, redirect: 'manual' });
    } catch (err) {
      fail(step, `${method} ${current.href} failed: ${err.message}`);
    }
    jar.store(res);
    trail.push(`${method} ${current.pathname} -> ${res.status}`);
    if (res.status >= 300 && res.status < 400) {
      const location = res.headers.get('location');
      check(location, step, `${method} ${current.href} answered ${res.status} without Location`);
      const next = new URL(location, current);
      if (next.href.startsWith(REDIRECT_URI)) {
        return { callback: next, trail };
      }
      current = next;
      method = 'GET';
      body = undefined;
      continue;
    }
    const text = await res.text();
    return { status: res.status, url: current, html: text, trail };
  }
  return fail(step, `too many redirects: ${trail.join(', ')}`);
}

function requirePage(result, step, what) {
  if (result.callback) {
    fail(step, `expected the ${what} page but was redirected straight to the RP: ` +
      `${result.callback.href} (trail: ${result.trail.join(', ')})`);
  }
  check(result.status === 200, step,
    `expected HTTP 200 ${what} page at ${result.url.href}, got ${result.status} ` +
    `(trail: ${result.trail.join(', ')}); body: ${excerpt(result.html)}`);
}

function requireCallback(result, step) {
  if (!result.callback) {
    fail(step, `expected a redirect to ${REDIRECT_URI}, got HTTP ${result.status} at ` +
      `${result.url.href} (trail: ${result.trail.join(', ')}); body: ${excerpt(result.html)}`);
  }
  const cb = result.callback;
  const err = cb.searchParams.get('error');
  check(!err, step, `authorization error at the callback: ${err} ` +
    `${cb.searchParams.get('error_description') ?? ''} (${cb.href})`);
  for (const p of ['code', 'state', 'iss']) {
    check(cb.searchParams.get(p), step, `callback lacks "${p}": ${cb.href}`);
  }
  check(cb.searchParams.get('iss') === ISSUER, step,
    `callback iss ${cb.searchParams.get('iss')} != ${ISSUER}`);
  return cb;
}

async function authorizationRequest(config, extra = {}) {
  const codeVerifier = client.randomPKCECodeVerifier();
  const codeChallenge = await client.calculatePKCECodeChallenge(codeVerifier);
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT_URI,
    scope: SCOPE,
    code_challenge: codeChallenge,
    code_challenge_method: 'S256',
    state,
    nonce,
    ...extra,
  });
  return { url, codeVerifier, state, nonce };
}

// ---------------------------------------------------------------------------
// The flow
// ---------------------------------------------------------------------------
async function main() {
  const missing = REQUIRED.filter((k) => !process.env[k]);
  check(missing.length === 0, 'env', `missing environment variables: ${missing.join(', ')}`);

  // 1. Discovery (client_secret_basic: openid-client v6 would default to client_secret_post).
  let config;
  try {
    config = await client.discovery(
      new URL(ISSUER),
      CLIENT_ID,
      CLIENT_SECRET,
      client.ClientSecretBasic(CLIENT_SECRET),
      { execute: [client.allowInsecureRequests, client.enableNonRepudiationChecks] },
    );
  } catch (err) {
    fail('discovery', describe(err));
  }
  const meta = config.serverMetadata();
  check(meta.issuer === ISSUER, 'discovery', `issuer ${meta.issuer} != ${ISSUER}`);
  for (const ep of ['authorization_endpoint', 'token_endpoint', 'userinfo_endpoint',
    'jwks_uri', 'introspection_endpoint', 'revocation_endpoint']) {
    check(meta[ep], 'discovery', `discovery document lacks ${ep}`);
  }
  check(meta.supportsPKCE(), 'discovery',
    `code_challenge_methods_supported lacks S256: ${JSON.stringify(meta.code_challenge_methods_supported)}`);

  // 2. Interactive login: authorize -> login page -> consent page -> callback.
  const jar = new CookieJar();
  const first = await authorizationRequest(config, { max_age: String(MAX_AGE) });

  const loginPage = await navigate(jar, 'login-page', first.url);
  requirePage(loginPage, 'login-page', 'login');
  const loginForm = parseForms(loginPage.html, loginPage.url).find(
    (f) => findControl(f, (t, a) => t === 'input' && a.name === 'password'),
  );
  check(loginForm, 'login-page',
    `no <form> with an input name="password" at ${loginPage.url.href}: ${excerpt(loginPage.html)}`);
  check(loginForm.method === 'post', 'login-page', `login form method is ${loginForm.method}`);
  const userInput = findControl(loginForm, (t, a) => t === 'input' && a.name === 'username');
  const passInput = findControl(loginForm, (t, a) => t === 'input' && a.name === 'password');
  const csrfLogin = findControl(loginForm, (t, a) => t === 'input' && a.name === 'csrf_token');
  check(userInput, 'login-page', 'login form has no input name="username"');
  check(userInput.autocomplete === 'username', 'login-page',
    `username input autocomplete=${JSON.stringify(userInput.autocomplete)}, want "username"`);
  check((passInput.type || '').toLowerCase() === 'password', 'login-page',
    `password input type=${JSON.stringify(passInput.type)}, want "password"`);
  check(passInput.autocomplete === 'current-password', 'login-page',
    `password input autocomplete=${JSON.stringify(passInput.autocomplete)}, want "current-password"`);
  check(csrfLogin && csrfLogin.value && (csrfLogin.type || '').toLowerCase() === 'hidden',
    'login-page', 'login form has no hidden input name="csrf_token" with a value');

  const loginData = formData(loginForm);
  loginData.set('username', USERNAME);
  loginData.set('password', PASSWORD);
  const consentPage = await navigate(jar, 'login-submit', loginForm.action, {
    method: 'POST', body: loginData.toString(), referer: loginPage.url.href,
  });
  requirePage(consentPage, 'login-submit', 'consent');
  const consentForms = parseForms(consentPage.html, consentPage.url);
  const consentForm = consentForms.find((f) => findControl(
    f, (t, a) => a.name === 'decision' && a.value === 'allow' && t === 'button',
  ));
  if (!consentForm) {
    const hasPassword = consentForms.some((f) => findControl(f, (t, a) => a.name === 'password'));
    fail('login-submit', hasPassword
      ? `login was not accepted (the login form came back) at ${consentPage.url.href}: ` +
        `${excerpt(consentPage.html)}`
      : `no consent form with <button name="decision" value="allow"> at ` +
        `${consentPage.url.href}: ${excerpt(consentPage.html)}`);
  }
  check(consentForm.method === 'post', 'consent-page', `consent form method is ${consentForm.method}`);
  const csrfConsent = findControl(consentForm, (t, a) => t === 'input' && a.name === 'csrf_token');
  check(csrfConsent && csrfConsent.value, 'consent-page', 'consent form has no csrf_token');
  const allow = findControl(consentForm, (t, a) => a.name === 'decision' && a.value === 'allow');
  const consentData = formData(consentForm, allow);
  const afterConsent = await navigate(jar, 'consent-submit', consentForm.action, {
    method: 'POST', body: consentData.toString(), referer: consentPage.url.href,
  });
  const callback = requireCallback(afterConsent, 'consent-submit');

  // 3. Code exchange + ID token checks.
  let tokens;
  try {
    tokens = await client.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: first.codeVerifier,
      expectedState: first.state,
      expectedNonce: first.nonce,
      maxAge: MAX_AGE,
    });
  } catch (err) {
    fail('code-grant', describe(err));
  }
  check(tokens.access_token, 'code-grant', 'no access_token');
  check(tokens.id_token, 'code-grant', 'no id_token');
  check(tokens.refresh_token, 'code-grant', 'no refresh_token (grant_type refresh_token allowed)');
  check((tokens.token_type || '').toLowerCase() === 'bearer', 'code-grant',
    `token_type ${tokens.token_type}`);
  const claims = tokens.claims();
  check(claims, 'id-token', 'tokens.claims() returned nothing');
  check(typeof claims.sub === 'string' && claims.sub, 'id-token', 'sub missing');
  check(claims.acr !== undefined && claims.acr !== null && claims.acr !== '', 'id-token',
    `acr missing: ${JSON.stringify(claims)}`);
  check(Array.isArray(claims.amr) && claims.amr.length > 0, 'id-token',
    `amr is not a non-empty array: ${JSON.stringify(claims.amr)}`);
  check(typeof claims.sid === 'string' && claims.sid, 'id-token', `sid missing: ${JSON.stringify(claims)}`);
  check(typeof claims.auth_time === 'number', 'id-token',
    `auth_time not a number: ${JSON.stringify(claims.auth_time)}`);
  check(claims.nonce === first.nonce, 'id-token', 'nonce mismatch');
  check(claims.iss === ISSUER, 'id-token', `iss ${claims.iss}`);

  // 4. UserInfo.
  let userinfo;
  try {
    userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
  } catch (err) {
    fail('userinfo', describe(err));
  }
  check(userinfo.sub === claims.sub, 'userinfo', 'sub mismatch');

  // 5. Refresh.
  let refreshed;
  try {
    refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
  } catch (err) {
    fail('refresh', describe(err));
  }
  check(refreshed.access_token, 'refresh', 'no access_token');
  check(refreshed.access_token !== tokens.access_token, 'refresh', 'access_token not renewed');
  check(refreshed.id_token, 'refresh', 'no id_token in the refresh response');
  const refreshedClaims = refreshed.claims();
  check(refreshedClaims.sub === claims.sub, 'refresh', 'sub changed on refresh');
  check(refreshedClaims.auth_time === claims.auth_time, 'refresh',
    `auth_time changed on refresh: ${refreshedClaims.auth_time} != ${claims.auth_time}`);
  const newRefreshToken = refreshed.refresh_token ?? tokens.refresh_token;

  // 6. Introspection of the new access token.
  const introspect = async (step, token) => {
    try {
      return await client.tokenIntrospection(config, token);
    } catch (err) {
      return fail(step, describe(err));
    }
  };
  const revoke = async (step, token) => {
    try {
      await client.tokenRevocation(config, token);
    } catch (err) {
      fail(step, describe(err));
    }
  };
  const intro = await introspect('introspect-access', refreshed.access_token);
  check(intro.active === true, 'introspect-access', `not active: ${JSON.stringify(intro)}`);
  check(intro.client_id === CLIENT_ID, 'introspect-access',
    `client_id ${intro.client_id} != ${CLIENT_ID}`);

  // 7. Revocation of the refresh token, then of the access token.
  await revoke('revoke-refresh', newRefreshToken);
  const introRt = await introspect('introspect-revoked-refresh', newRefreshToken);
  check(introRt.active === false, 'introspect-revoked-refresh',
    `revoked refresh token still active: ${JSON.stringify(introRt)}`);
  await revoke('revoke-access', refreshed.access_token);
  const introAt = await introspect('introspect-revoked-access', refreshed.access_token);
  check(introAt.active === false, 'introspect-revoked-access',
    `revoked access token still active: ${JSON.stringify(introAt)}`);

  // 8. Silent re-authentication with the session cookie.
  const second = await authorizationRequest(config, { prompt: 'none' });
  const silent = await navigate(jar, 'prompt-none', second.url);
  const silentCb = requireCallback(silent, 'prompt-none');
  check(silent.trail.length === 1, 'prompt-none',
    `expected one 302 straight to the RP, got: ${silent.trail.join(', ')}`);
  let silentTokens;
  try {
    silentTokens = await client.authorizationCodeGrant(config, silentCb, {
      pkceCodeVerifier: second.codeVerifier,
      expectedState: second.state,
      expectedNonce: second.nonce,
    });
  } catch (err) {
    fail('prompt-none-grant', describe(err));
  }
  const silentClaims = silentTokens.claims();
  check(silentClaims.sub === claims.sub, 'prompt-none-grant', 'sub differs');
  check(silentClaims.auth_time === claims.auth_time, 'prompt-none-grant',
    `auth_time differs: ${silentClaims.auth_time} != ${claims.auth_time}`);
  check(silentClaims.sid === claims.sid, 'prompt-none-grant',
    `sid differs for the same session: ${silentClaims.sid} != ${claims.sid}`);

  // 9. The most common integration mistake: openid-client's default client authentication
  //    (client_secret_post) for a client registered with client_secret_basic. The answer is a
  //    401 whose WWW-Authenticate challenge carries the error (oauth4webapi surfaces it as
  //    the error's cause).
  const postConfig = new client.Configuration(meta, CLIENT_ID, CLIENT_SECRET);
  client.allowInsecureRequests(postConfig);
  const wrongMethod = await client.refreshTokenGrant(postConfig, 'not-a-refresh-token').then(
    () => fail('wrong-method', 'client_secret_post was accepted for a client_secret_basic client'),
    (err) => {
      const challenge = Array.isArray(err.cause) ? err.cause.find((c) => c.scheme === 'basic') : null;
      check(challenge, 'wrong-method', `no Basic challenge: ${describe(err)}`);
      return { status: err.status, ...challenge.parameters };
    },
  );

  const enterprise = await actForTheEnterprise(config, jar, claims.sub);

  const result = {
    ok: true,
    enterprise,
    openid_client_version: openidClientVersion(),
    client_id: CLIENT_ID,
    sub: claims.sub,
    id_token: tokens.id_token,
    access_token: tokens.access_token,
    refreshed_id_token: refreshed.id_token,
    refreshed_access_token: refreshed.access_token,
    id_token_claims: claims,
    userinfo,
    introspection: intro,
    cookies: jar.names(),
    login_trail: [...loginPage.trail, ...consentPage.trail, ...afterConsent.trail],
    prompt_none_trail: silent.trail,
    wrong_method: wrongMethod,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

// 10. Acting for an enterprise, in the same browser session: the chooser (one
//     <button name="act_as"> per choice), consent to the enterprise scope, the enterprise in the
//     ID token and userinfo; then a silent request with authorization_details gets exactly the
//     matters asked for.
async function actForTheEnterprise(config, jar, sub) {
  const meta = config.serverMetadata();
  check((meta.authorization_details_types_supported ?? []).includes(MATTERS_TYPE),
    'enterprise-discovery', `authorization_details_types_supported lacks ${MATTERS_TYPE}`);
  const request = await authorizationRequest(config, { scope: 'openid enterprise' });
  const chooser = await navigate(jar, 'enterprise-chooser', request.url);
  requirePage(chooser, 'enterprise-chooser', 'act-for chooser');
  const form = parseForms(chooser.html, chooser.url).find(
    (f) => findControl(f, (t, a) => t === 'button' && a.name === 'act_as'),
  );
  check(form, 'enterprise-chooser', `no <button name="act_as">: ${excerpt(chooser.html)}`);
  const values = form.controls.filter(({ attrs }) => attrs.name === 'act_as')
    .map(({ attrs }) => attrs.value);
  const button = findControl(form, (t, a) => a.name === 'act_as' && a.value === CREDIT_CODE);
  check(button, 'enterprise-chooser', `no button for ${CREDIT_CODE}: ${values.join(', ')}`);
  const consent = await navigate(jar, 'enterprise-choose', form.action, {
    method: 'POST', body: formData(form, button).toString(), referer: chooser.url.href,
  });
  requirePage(consent, 'enterprise-choose', 'consent');
  const consentForm = parseForms(consent.html, consent.url).find((f) => findControl(
    f, (t, a) => a.name === 'decision' && a.value === 'allow'));
  check(consentForm, 'enterprise-choose', `no consent form: ${excerpt(consent.html)}`);
  const allow = findControl(consentForm, (t, a) => a.name === 'decision' && a.value === 'allow');
  const done = await navigate(jar, 'enterprise-consent', consentForm.action, {
    method: 'POST', body: formData(consentForm, allow).toString(), referer: consent.url.href,
  });
  const callback = requireCallback(done, 'enterprise-consent');
  let tokens;
  try {
    tokens = await client.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: request.codeVerifier,
      expectedState: request.state,
      expectedNonce: request.nonce,
    });
  } catch (err) {
    fail('enterprise-grant', describe(err));
  }
  const claims = tokens.claims();
  check(claims.sub === sub, 'enterprise-grant', 'sub is not the acting person');
  let userinfo;
  try {
    userinfo = await client.fetchUserInfo(config, tokens.access_token, sub);
  } catch (err) {
    fail('enterprise-userinfo', describe(err));
  }
  const silent = await authorizationRequest(config, {
    scope: 'openid enterprise',
    prompt: 'none',
    authorization_details: JSON.stringify([{ type: MATTERS_TYPE, matters: ['tax.declare'] }]),
  });
  const silentResult = await navigate(jar, 'enterprise-silent', silent.url);
  const silentCallback = requireCallback(silentResult, 'enterprise-silent');
  let silentTokens;
  try {
    silentTokens = await client.authorizationCodeGrant(config, silentCallback, {
      pkceCodeVerifier: silent.codeVerifier,
      expectedState: silent.state,
      expectedNonce: silent.nonce,
    });
  } catch (err) {
    fail('enterprise-silent-grant', describe(err));
  }
  return {
    choices: values,
    id_token_enterprise: claims.enterprise,
    id_token_act: claims.act,
    authorization_details: tokens.authorization_details,
    userinfo_enterprise: userinfo.enterprise,
    silent_authorization_details: silentTokens.authorization_details,
  };
}

function openidClientVersion() {
  try {
    const pkg = new URL('./node_modules/openid-client/package.json', import.meta.url);
    return JSON.parse(readFileSync(pkg, 'utf8')).version;
  } catch {
    return null;
  }
}

function describe(err) {
  const parts = [`${err?.name ?? 'Error'}: ${err?.message ?? err}`];
  if (err?.code) parts.push(`code=${err.code}`);
  if (err?.error) parts.push(`error=${err.error}`);
  if (err?.error_description) parts.push(`error_description=${err.error_description}`);
  if (err?.status) parts.push(`status=${err.status}`);
  if (err?.cause && typeof err.cause === 'object') {
    try {
      parts.push(`cause=${excerpt(JSON.stringify(err.cause), 800)}`);
    } catch {
      parts.push(`cause=${err.cause}`);
    }
  }
  if (err?.response instanceof Response) {
    parts.push(`response=${err.response.status} ${err.response.url}`);
  }
  return parts.join(' ');
}

main().then(
  () => process.exit(0),
  (err) => {
    const msg = err instanceof Failure ? err.message : `unexpected: ${describe(err)}\n${err?.stack}`;
    process.stderr.write(`rp.mjs FAILED ${msg}\n`);
    process.exit(1);
  },
);
