// The operator page of instagram-gateway (served at /admin/). No dependencies, no inline code:
// the page's CSP allows only its own script, style and same-origin requests.
//
// The admin token is kept in this tab's sessionStorage only and sent as a bearer token.
"use strict";

(function () {
  const STORAGE_KEY = "igw-admin-token";
  const POLL_MS = 30000; // status refresh while the page is visible
  const REAUTH_POLL_MS = 3000; // while waiting for an authorization to complete

  const $ = (testid) => document.querySelector(`[data-testid="${testid}"]`);
  const els = {
    session: $("session"),
    forget: $("forget"),
    form: $("token-form"),
    input: $("token-input"),
    submit: $("token-submit"),
    error: $("error"),
    message: $("message"),
    status: $("status"),
    reauth: $("reauth"),
    refresh: $("refresh-token"),
    sync: $("sync"),
    reload: $("reload"),
    retryAssets: $("assets-retry"),
    pending: $("reauth-pending"),
    pendingLink: $("reauth-link"),
    pendingExpires: $("reauth-expires"),
  };

  const state = {
    token: readToken(),
    status: null, // last /admin/status body
    busy: 0, // admin calls in flight
    timer: null,
    // While a re-authorization is under way: the obtained_at it must replace, and its deadline.
    waiting: null,
  };

  // ---- the admin API ----------------------------------------------------------------------

  class ApiProblem extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  async function api(method, path, token) {
    const bearer = token === undefined ? state.token : token;
    let response;
    try {
      response = await fetch(path, {
        method,
        headers: { Authorization: `Bearer ${bearer}`, Accept: "application/json" },
        cache: "no-store",
        credentials: "omit",
      });
    } catch (err) {
      throw new ApiProblem(0, `Cannot reach the service (${err.message}).`);
    }
    let body = null;
    try {
      body = await response.json();
    } catch {
      body = null;
    }
    if (response.ok && body) return body;
    if (response.status === 401) {
      throw new ApiProblem(
        401,
        "The service refused this admin token (401 Unauthorized). Paste the value of admin.token.",
      );
    }
    const title = (body && body.title) || response.statusText || "Error";
    let text = `${title} (HTTP ${response.status})`;
    if (body && body.detail) text += `: ${body.detail}`;
    if (!/[.!?]$/.test(text)) text += ".";
    const retryAfter = response.headers.get("Retry-After");
    if (retryAfter) text += ` Retry after ${retryAfter} s.`;
    throw new ApiProblem(response.status, text);
  }

  // ---- token handling ---------------------------------------------------------------------

  function readToken() {
    try {
      return window.sessionStorage.getItem(STORAGE_KEY);
    } catch {
      return null;
    }
  }

  function storeToken(token) {
    state.token = token;
    try {
      if (token === null) window.sessionStorage.removeItem(STORAGE_KEY);
      else window.sessionStorage.setItem(STORAGE_KEY, token);
    } catch {
      // Storage disabled: the token lives in this page only.
    }
  }

  function forget(reason) {
    storeToken(null);
    state.status = null;
    state.waiting = null;
    stopTimer();
    els.status.hidden = true;
    els.session.hidden = true;
    els.pending.hidden = true;
    els.form.hidden = false;
    els.input.value = "";
    showMessage(null);
    showError(reason || null);
    els.input.focus();
  }

  async function login(event) {
    event.preventDefault();
    const token = els.input.value.trim();
    if (!/^[\x21-\x7e]+$/.test(token)) {
      showError("The token must be printable ASCII without spaces.");
      return;
    }
    els.submit.disabled = true;
    try {
      const status = await api("GET", "/admin/status", token);
      storeToken(token);
      els.input.value = "";
      showError(null);
      render(status);
      schedule();
    } catch (err) {
      showError(err.message);
    } finally {
      els.submit.disabled = false;
    }
  }

  // ---- actions ------------------------------------------------------------------------------

  // Runs one admin call with the buttons disabled; a 401 forgets the stored token.
  async function action(run) {
    state.busy += 1;
    setButtons(true);
    try {
      await run();
    } catch (err) {
      if (err.status === 401) forget(err.message);
      else showError(err.message);
    } finally {
      state.busy -= 1;
      setButtons(state.busy > 0);
    }
  }

  async function loadStatus() {
    const token = state.token;
    const status = await api("GET", "/admin/status", token);
    if (state.token !== token) return; // forgotten or replaced meanwhile
    render(status);
    if (state.waiting) checkReauthDone(status);
  }

  function reauthorize() {
    // Open the window while the click still counts as a user gesture; point it at Instagram
    // once the URL is known. Without an opener, the authorization page cannot reach this one.
    const win = window.open("", "_blank");
    if (win) win.opener = null;
    action(async () => {
      const before = state.status ? state.status.token.obtained_at : null;
      let answer;
      try {
        answer = await api("POST", "/admin/reauth");
      } catch (err) {
        if (win) win.close();
        throw err;
      }
      const url = httpUrl(answer.authorize_url);
      if (!url) {
        if (win) win.close();
        throw new ApiProblem(0, "The service returned an authorize URL that is not http(s).");
      }
      showError(null);
      els.pendingLink.href = url;
      setTime(els.pendingExpires, answer.state_expires_at);
      els.pending.hidden = false;
      if (win && !win.closed) {
        win.location.href = url;
        showMessage("Log in to Instagram in the new window. This page updates when it is done.");
      } else {
        showMessage("The browser blocked the new window: open the authorization link below.");
      }
      state.waiting = { before, until: Date.parse(answer.state_expires_at) };
      schedule();
    });
  }

  function checkReauthDone(status) {
    const waiting = state.waiting;
    if (!waiting) return;
    const token = status.token;
    if (token.obtained_at && token.obtained_at !== waiting.before && !token.reauth_required) {
      state.waiting = null;
      els.pending.hidden = true;
      showError(null);
      showMessage(
        `Instagram connected: @${token.username || "?"}, token valid until ${formatTime(token.expires_at)}.`,
      );
    } else if (Date.now() > waiting.until) {
      state.waiting = null;
      els.pending.hidden = true;
      showMessage(null);
      showError("The authorization was not completed in time. Click Re-authorize to start again.");
    }
  }

  function refreshToken() {
    action(async () => {
      const status = await api("POST", "/admin/token/refresh");
      render(status);
      showError(null);
      showMessage(`Token refreshed; valid until ${formatTime(status.token.expires_at)}.`);
    });
  }

  function syncNow() {
    action(async () => {
      const answer = await api("POST", "/admin/sync");
      if (state.status) render({ ...state.status, feed: answer.feed });
      showError(null);
      showMessage(`Synced: ${answer.feed.items} items.`);
    });
  }

  function retryAssets() {
    action(async () => {
      const answer = await api("POST", "/admin/assets/retry");
      if (state.status) render({ ...state.status, assets: answer.assets });
      showError(null);
      const n = answer.requeued;
      const pictures = n === 1 ? "picture" : "pictures";
      showMessage(
        n === 0
          ? "No failed pictures to retry."
          : `Retrying ${n} failed ${pictures}: they are processed again within about a second.`,
      );
    });
  }

  // ---- polling ------------------------------------------------------------------------------

  function stopTimer() {
    if (state.timer !== null) window.clearTimeout(state.timer);
    state.timer = null;
  }

  function schedule() {
    stopTimer();
    if (!state.token) return;
    const delay = state.waiting ? REAUTH_POLL_MS : POLL_MS;
    state.timer = window.setTimeout(poll, delay);
  }

  async function poll() {
    state.timer = null;
    if (!state.token) return;
    if (state.busy === 0 && (document.visibilityState === "visible" || state.waiting)) {
      await action(loadStatus);
    }
    schedule();
  }

  // ---- rendering ----------------------------------------------------------------------------

  function render(status) {
    state.status = status;
    els.form.hidden = true;
    els.session.hidden = false;
    els.status.hidden = false;
    const t = status.token;
    const stateEl = $("token-state");
    stateEl.textContent = t.state;
    stateEl.className = `state state-${t.state}`;
    setText("token-username", t.username ? `@${t.username}` : null);
    setText("token-user-id", t.user_id);
    setText("token-scopes", t.scopes && t.scopes.length ? t.scopes.join(", ") : null);
    setTime($("token-obtained-at"), t.obtained_at);
    setTime($("token-expires-at"), t.expires_at);
    setTime($("token-refreshed-at"), t.refreshed_at);
    const reauth = $("token-reauth-required");
    reauth.textContent = t.reauth_required ? "yes: click Re-authorize" : "no";
    reauth.className = t.reauth_required ? "warn" : "";
    setText("token-last-error", t.last_error, "none");

    const f = status.feed;
    setText("feed-items", String(f.items));
    setTime($("feed-synced-at"), f.synced_at);
    setTime($("feed-next-sync-at"), f.next_sync_at);
    setTime($("feed-urls-expire-at"), f.urls_expire_at);
    setText("feed-version", f.version);
    setText("feed-last-error", f.last_error, "none");
    renderRateLimit(f.rate_limit);
    renderAssets(status.assets);
    setTime($("status-updated-at"), new Date().toISOString());
  }

  function renderRateLimit(usage) {
    const meter = $("rate-limit-meter");
    const details = $("rate-limit-details");
    details.replaceChildren();
    if (!usage) {
      meter.value = 0;
      setText("rate-limit-max", null, "no usage reported yet");
      return;
    }
    meter.value = Math.min(100, usage.max_percent);
    setText("rate-limit-max", `${usage.max_percent}% of the tightest limit`);
    const rows = [];
    for (const [name, value] of Object.entries(usage.app || {})) rows.push([`app ${name}`, `${value}%`]);
    for (const [name, value] of Object.entries(usage.business_use_case || {})) {
      rows.push([`business ${name}`, `${value}%`]);
    }
    if (usage.regain_access_minutes !== null && usage.regain_access_minutes !== undefined) {
      rows.push(["access regained in", `${usage.regain_access_minutes} min`]);
    }
    rows.push(["reported", formatTime(usage.observed_at)]);
    for (const [name, value] of rows) {
      const dt = document.createElement("dt");
      dt.textContent = name;
      const dd = document.createElement("dd");
      dd.textContent = value;
      details.append(dt, dd);
    }
  }

  // The re-hosted pictures (`assets` in /admin/status); absent from an older service.
  function renderAssets(assets) {
    const a = assets || {};
    const known = assets !== undefined && assets !== null;
    setText("assets-enabled", known ? (a.enabled ? "on" : "off: the feed shows Instagram's URLs") : null);
    setText("assets-store", a.store);
    for (const name of ["ready", "pending", "failed"]) {
      setText(`assets-${name}`, typeof a[name] === "number" ? String(a[name]) : null);
    }
    $("assets-failed").classList.toggle("warn", a.failed > 0);
    const bytes = $("assets-bytes");
    setText("assets-bytes", typeof a.bytes === "number" ? formatBytes(a.bytes) : null);
    bytes.title = typeof a.bytes === "number" ? `${a.bytes} bytes` : "";
    els.retryAssets.hidden = !known;
  }

  function formatBytes(n) {
    const units = ["bytes", "kB", "MB", "GB", "TB"];
    let value = n;
    let unit = 0;
    while (value >= 1000 && unit < units.length - 1) {
      value /= 1000;
      unit += 1;
    }
    return unit === 0 ? `${n} bytes` : `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
  }

  function setText(testid, value, empty) {
    const node = $(testid);
    const none = value === null || value === undefined || value === "";
    node.textContent = none ? empty || "—" : value;
    node.classList.toggle("none", none);
  }

  function setTime(node, iso) {
    if (!iso) {
      node.removeAttribute("datetime");
      node.textContent = "—";
      return;
    }
    node.setAttribute("datetime", iso);
    node.textContent = formatTime(iso);
    node.title = iso;
  }

  const relative =
    typeof Intl !== "undefined" && Intl.RelativeTimeFormat
      ? new Intl.RelativeTimeFormat(undefined, { numeric: "auto" })
      : null;

  function formatTime(iso) {
    const when = new Date(iso);
    if (Number.isNaN(when.getTime())) return String(iso);
    const text = when.toLocaleString();
    if (!relative) return text;
    const seconds = Math.round((when.getTime() - Date.now()) / 1000);
    const units = [
      ["day", 86400],
      ["hour", 3600],
      ["minute", 60],
      ["second", 1],
    ];
    for (const [unit, size] of units) {
      if (Math.abs(seconds) >= size || unit === "second") {
        return `${text} (${relative.format(Math.round(seconds / size), unit)})`;
      }
    }
    return text;
  }

  function showError(text) {
    els.error.hidden = !text;
    els.error.textContent = text || "";
  }

  function showMessage(text) {
    els.message.hidden = !text;
    els.message.textContent = text || "";
  }

  function setButtons(disabled) {
    for (const button of [els.reauth, els.refresh, els.sync, els.reload, els.retryAssets]) {
      button.disabled = disabled;
    }
  }

  function httpUrl(value) {
    try {
      const url = new URL(value);
      return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
    } catch {
      return null;
    }
  }

  // ---- wiring -------------------------------------------------------------------------------

  els.form.addEventListener("submit", login);
  els.forget.addEventListener("click", () => forget(null));
  els.reauth.addEventListener("click", reauthorize);
  els.refresh.addEventListener("click", refreshToken);
  els.sync.addEventListener("click", syncNow);
  els.reload.addEventListener("click", () => action(loadStatus));
  els.retryAssets.addEventListener("click", retryAssets);
  // Coming back from the authorization tab: look at once instead of waiting for the next poll.
  window.addEventListener("focus", () => {
    if (state.token && state.status && state.busy === 0) action(loadStatus);
  });

  if (state.token) {
    els.form.hidden = true;
    action(loadStatus).then(schedule);
  } else {
    els.input.focus();
  }
})();
