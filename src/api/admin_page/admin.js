// The operator page of instagram-gateway (served at /admin/). No dependencies, no inline code:
// the page's CSP allows only its own script, style and same-origin requests.
//
// The admin token is kept in this tab's sessionStorage only and sent as a bearer token.
"use strict";

(function () {
  const STORAGE_KEY = "igw-admin-token";
  const POLL_MS = 30000; // status refresh while the page is visible
  const REAUTH_POLL_MS = 3000; // while waiting for an authorization to complete
  const WINDOW_CHECK_MS = 500; // looking at the authorization window while waiting
  const CONFIRM_MS = 15000; // how long an armed "Remove" waits for its confirmation
  const MAX_PINS = 12;
  const SLUG_HINT =
    "1 to 32 characters: lowercase letters, digits and -, not starting with -";

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
    pendingAccount: $("reauth-account"),
    accounts: $("accounts"),
    accountsCount: $("accounts-count"),
    accountRows: $("accounts-rows"),
    accountsEmpty: $("accounts-empty"),
    accountForm: $("account-form"),
    accountSlug: $("account-slug"),
    accountLabel: $("account-label"),
    accountLogin: $("account-login"),
    accountAdd: $("account-add"),
    defaultSlug: $("default-slug"),
    curation: $("curation"),
    curationAccount: $("curation-account"),
    filtersForm: $("filters-form"),
    filterIncludes: $("filter-includes"),
    filterExcludes: $("filter-excludes"),
    filterNoCaption: $("filter-no-caption"),
    filtersSave: $("filters-save"),
    curationPosts: $("curation-posts"),
    curationEmpty: $("curation-empty"),
  };

  const state = {
    token: readToken(),
    status: null, // last /admin/status body
    busy: 0, // admin calls in flight
    timer: null,
    accounts: null, // last /admin/accounts body; null before it or when the service has none
    // While a re-authorization is under way: the account (null: the default account through
    // /admin/status), the obtained_at it must replace, its deadline and the window it runs in.
    waiting: null,
    windowTimer: null,
    // The account whose "Remove" was clicked once and waits for its confirmation.
    confirming: null,
    confirmTimer: null,
    // The account the Curation card shows, and its posts (`GET …/posts`) once loaded.
    curationSlug: null,
    posts: null,
  };

  // ---- the admin API ----------------------------------------------------------------------

  class ApiProblem extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  async function api(method, path, token, json) {
    const bearer = token === undefined || token === null ? state.token : token;
    const headers = { Authorization: `Bearer ${bearer}`, Accept: "application/json" };
    let payload;
    if (json !== undefined) {
      headers["Content-Type"] = "application/json";
      payload = JSON.stringify(json);
    }
    let response;
    try {
      response = await fetch(path, {
        method,
        headers,
        body: payload,
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
    if (response.ok && (body || response.status === 204)) return body;
    if (response.status === 401) {
      throw new ApiProblem(
        401,
        "The service refused this admin token (401 Unauthorized). Paste the value of admin.token.",
      );
    }
    let text = problemText(body, response.status, response.statusText);
    const retryAfter = response.headers.get("Retry-After");
    if (retryAfter) text += ` Retry after ${retryAfter} s.`;
    const problem = new ApiProblem(response.status, text);
    problem.type = body && body.type;
    throw problem;
  }

  // "Title (HTTP 409): detail." from a problem+json body.
  function problemText(body, status, statusText) {
    const title = (body && body.title) || statusText || "Error";
    let text = `${title} (HTTP ${status})`;
    if (body && body.detail) text += `: ${body.detail}`;
    if (!/[.!?]$/.test(text)) text += ".";
    return text;
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
    state.accounts = null;
    state.curationSlug = null;
    state.posts = null;
    els.curationPosts.replaceChildren();
    els.curationAccount.replaceChildren();
    stopWaiting();
    disarmRemove();
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
      await loadAccounts().catch((err) => showError(err.message));
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

  // The default account's status and every account; while an authorization is under way, only
  // what it waits for (the admin API is rate-limited per client).
  async function loadStatus() {
    const token = state.token;
    const waiting = state.waiting;
    const wantStatus = !waiting || waiting.slug === null;
    const wantAccounts = !waiting || waiting.slug !== null || state.accounts === null;
    const [status, accounts] = await Promise.all([
      wantStatus ? api("GET", "/admin/status", token) : null,
      wantAccounts ? fetchAccounts(token) : undefined,
    ]);
    if (state.token !== token) return; // forgotten or replaced meanwhile
    if (status) render(status);
    if (accounts !== undefined) renderAccounts(accounts);
    if (state.waiting) checkReauthDone();
  }

  async function loadAccounts() {
    const token = state.token;
    const accounts = await fetchAccounts(token);
    if (state.token === token) renderAccounts(accounts);
  }

  // `GET /admin/accounts`; null from a service without accounts (404).
  async function fetchAccounts(token) {
    try {
      return await api("GET", "/admin/accounts", token);
    } catch (err) {
      if (err.status === 404 && err.type !== "account_not_found") return null;
      throw err;
    }
  }

  function accountPath(slug) {
    return `/admin/accounts/${encodeURIComponent(slug)}`;
  }

  function findAccount(slug) {
    const list = state.accounts ? state.accounts.accounts : [];
    return list.find((a) => a.slug === slug) || null;
  }

  // Starts an authorization: the default account's (slug null, `POST /admin/reauth`) or the
  // account `slug`'s (`POST /admin/accounts/{slug}/reauth`), in a new window when the browser
  // allows it; then waits for the account's `token.obtained_at` to change.
  function reauthorize(slug) {
    // Open the window while the click still counts as a user gesture; point it at Instagram
    // once the URL is known. Without an opener, the authorization page cannot reach this one.
    const win = window.open("", "_blank");
    if (win) win.opener = null;
    action(async () => {
      let before = null;
      if (slug === null) before = state.status ? state.status.token.obtained_at : null;
      else {
        const account = findAccount(slug);
        before = account ? account.token.obtained_at : null;
      }
      let answer;
      try {
        answer = await api("POST", slug === null ? "/admin/reauth" : `${accountPath(slug)}/reauth`);
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
      els.pendingAccount.textContent = slug === null ? "" : ` of ${slug}`;
      els.pending.hidden = false;
      let opened = null;
      if (win && !win.closed) {
        win.location.href = url;
        opened = win;
        showMessage("Log in to Instagram in the new window. This page updates when it is done.");
      } else {
        showMessage("The browser blocked the new window: open the authorization link below.");
      }
      stopWaiting();
      state.waiting = { slug, before, until: Date.parse(answer.state_expires_at), win: opened };
      if (opened) state.windowTimer = window.setInterval(checkWindow, WINDOW_CHECK_MS);
      schedule();
    });
  }

  function stopWaiting() {
    if (state.windowTimer !== null) window.clearInterval(state.windowTimer);
    state.windowTimer = null;
    state.waiting = null;
  }

  function checkReauthDone() {
    const waiting = state.waiting;
    if (!waiting) return;
    let token = null;
    if (waiting.slug === null) token = state.status ? state.status.token : null;
    else {
      const account = findAccount(waiting.slug);
      if (!account && state.accounts) {
        // Removed meanwhile.
        stopWaiting();
        els.pending.hidden = true;
        return;
      }
      token = account ? account.token : null;
    }
    if (token && token.obtained_at && token.obtained_at !== waiting.before && !token.reauth_required) {
      stopWaiting();
      refreshTheOtherView(waiting.slug);
      els.pending.hidden = true;
      showError(null);
      const which = waiting.slug === null ? "" : ` to ${waiting.slug}`;
      showMessage(
        `Instagram connected${which}: @${token.username || "?"}, token valid until ${formatTime(token.expires_at)}.`,
      );
    } else if (Date.now() > waiting.until) {
      const again = waiting.slug === null ? "Re-authorize" : "Connect";
      stopWaiting();
      els.pending.hidden = true;
      showMessage(null);
      showError(`The authorization was not completed in time. Click ${again} to start again.`);
    }
  }

  // The authorization window, once it is back on this service (same origin): a problem from
  // the OAuth callback (an Instagram account already connected to another slug, an expired
  // state, a refusal) is shown here at once; a success makes the page look now. While the
  // window is on Instagram (another origin), reading it throws: nothing to do yet.
  function checkWindow() {
    const waiting = state.waiting;
    const win = waiting && waiting.win;
    if (!win) return;
    if (win.closed) {
      waiting.win = null;
      window.clearInterval(state.windowTimer);
      state.windowTimer = null;
      return;
    }
    let doc;
    try {
      if (win.location.origin !== window.location.origin) return;
      if (!/\/oauth\/callback$/.test(win.location.pathname)) return;
      doc = win.document;
      if (doc.readyState !== "complete") return;
    } catch {
      return; // on Instagram's pages
    }
    waiting.win = null;
    window.clearInterval(state.windowTimer);
    state.windowTimer = null;
    let problem = null;
    if (/json/.test(doc.contentType || "")) {
      try {
        const pre = doc.querySelector("pre");
        problem = JSON.parse((pre || doc.body).textContent);
      } catch {
        problem = { title: "The authorization failed", detail: "see the authorization window" };
      }
    }
    if (problem) {
      const which = waiting.slug === null ? "the default account" : waiting.slug;
      const again = waiting.slug === null ? "Re-authorize" : "Connect";
      stopWaiting();
      els.pending.hidden = true;
      showMessage(null);
      showError(
        `Connecting ${which} failed: ${problemText(problem, problem.status || "?", "")} ` +
          `Click ${again} to start again.`,
      );
    } else if (state.busy === 0) {
      action(loadStatus);
    }
  }

  // After the default account's authorization, the table; after an account's, the default
  // account's cards when it was the default. Best effort: the next poll does it anyway.
  function refreshTheOtherView(slug) {
    const token = state.token;
    if (slug === null) {
      loadAccounts().catch(() => {});
    } else {
      const account = findAccount(slug);
      if (account && account.default) {
        api("GET", "/admin/status", token)
          .then((status) => state.token === token && render(status))
          .catch(() => {});
      }
    }
  }

  // ---- accounts -----------------------------------------------------------------------------

  function addAccount(event) {
    event.preventDefault();
    const slugInput = els.accountSlug;
    const slug = slugInput.value.trim();
    slugInput.value = slug;
    if (!slugInput.checkValidity()) {
      slugInput.setAttribute("aria-invalid", "true");
      showMessage(null);
      showError(
        slug === ""
          ? "Enter a slug for the new account."
          : `\`${slug}\` is not a valid account slug: ${SLUG_HINT}.`,
      );
      slugInput.focus();
      return;
    }
    const label = els.accountLabel.value.trim();
    const login = els.accountLogin.value;
    const body = { slug, login };
    if (label) body.label = label;
    action(async () => {
      let created;
      try {
        created = await api("POST", "/admin/accounts", null, body);
      } catch (err) {
        if (err.status === 400) slugInput.setAttribute("aria-invalid", "true");
        throw err;
      }
      els.accountForm.reset();
      slugInput.removeAttribute("aria-invalid");
      showError(null);
      showMessage(
        created.login === "facebook"
          ? `Added the account ${created.slug}. Click Connect in its row and log in to Facebook as a manager of the Page linked to the Instagram account.`
          : `Added the account ${created.slug}. Click Connect in its row to connect an Instagram account.`,
      );
      await loadAccounts();
      const connect = $(`account-connect-${created.slug}`);
      if (connect) connect.focus();
    });
  }

  function syncAccount(slug) {
    action(async () => {
      const answer = await api("POST", `${accountPath(slug)}/sync`);
      showError(null);
      showMessage(`Synced ${slug}: ${answer.feed.items} items.`);
      await loadAccounts();
    });
  }

  // "Remove" asks once more in the row (no confirm() dialog): the first click arms it.
  function armRemove(slug) {
    disarmRemove();
    state.confirming = slug;
    state.confirmTimer = window.setTimeout(() => {
      disarmRemove();
      if (state.accounts) renderAccounts(state.accounts);
    }, CONFIRM_MS);
    renderAccounts(state.accounts);
    const confirm = $(`account-remove-confirm-${slug}`);
    if (confirm) confirm.focus();
  }

  function disarmRemove() {
    if (state.confirmTimer !== null) window.clearTimeout(state.confirmTimer);
    state.confirmTimer = null;
    state.confirming = null;
  }

  function cancelRemove(slug) {
    disarmRemove();
    renderAccounts(state.accounts);
    const remove = $(`account-remove-${slug}`);
    if (remove) remove.focus();
  }

  function removeAccount(slug) {
    const account = findAccount(slug);
    const isDefault = Boolean(account && account.default);
    disarmRemove();
    action(async () => {
      await api("DELETE", accountPath(slug));
      showError(null);
      showMessage(
        isDefault
          ? `Emptied the default account ${slug}: its token, feed and pictures are deleted; connect it again to serve /images.`
          : `Removed the account ${slug}, with its token, feed and pictures.`,
      );
      if (state.waiting && state.waiting.slug === slug) {
        stopWaiting();
        els.pending.hidden = true;
      }
      if (isDefault) await loadStatus();
      else await loadAccounts();
    });
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

  // ---- curation -----------------------------------------------------------------------------

  // The account selector follows the accounts; the first time (or when the selected account
  // went away) it selects the default account and loads its posts.
  function renderCurationAccounts(list, def) {
    els.curation.hidden = list.length === 0;
    const options = new Map([...els.curationAccount.options].map((o) => [o.value, o]));
    for (const account of list) {
      let option = options.get(account.slug);
      options.delete(account.slug);
      if (!option) {
        option = document.createElement("option");
        option.value = account.slug;
        els.curationAccount.append(option);
      }
      option.textContent = account.default ? `${account.slug} (default)` : account.slug;
    }
    for (const option of options.values()) option.remove();
    if (!list.some((a) => a.slug === state.curationSlug)) {
      const first = def || list[0];
      state.curationSlug = first ? first.slug : null;
      state.posts = null;
      if (state.curationSlug) {
        els.curationAccount.value = state.curationSlug;
        loadCuration().catch((err) => showError(err.message));
      }
    }
  }

  // The selected account's posts and filters.
  async function loadCuration() {
    const slug = state.curationSlug;
    const token = state.token;
    if (!slug) return;
    const [posts, filters] = await Promise.all([
      api("GET", `${accountPath(slug)}/posts`, token).catch((err) => {
        if (err.status === 503) return { data: [] }; // not synced yet
        throw err;
      }),
      api("GET", `${accountPath(slug)}/filters`, token),
    ]);
    if (state.token !== token || state.curationSlug !== slug) return;
    state.posts = posts.data;
    renderFilters(filters);
    renderPosts();
  }

  function renderFilters(filters) {
    for (const box of els.filtersForm.querySelectorAll('input[name="types"]')) {
      box.checked = filters.types.includes(box.value);
    }
    els.filterIncludes.value = filters.caption_includes.join(", ");
    els.filterExcludes.value = filters.caption_excludes.join(", ");
    els.filterNoCaption.checked = filters.hide_without_caption;
  }

  function renderPosts() {
    const posts = state.posts || [];
    els.curationEmpty.hidden = posts.length > 0;
    els.curationPosts.replaceChildren(...posts.map(postItem));
    setButtons(state.busy > 0);
  }

  function postItem(post) {
    const li = document.createElement("li");
    li.className = post.shown ? "post" : "post off";
    li.dataset.id = post.id;
    li.dataset.testid = `post-${post.id}`;
    const caption = post.caption || "(no caption)";
    const url = post.thumbnail_url && httpUrl(post.thumbnail_url);
    if (url) {
      const img = document.createElement("img");
      img.src = url;
      img.alt = caption;
      img.loading = "lazy";
      img.decoding = "async";
      // Instagram's CDN is another origin, which this page's CSP does not load.
      img.addEventListener("error", () => img.replaceWith(stillPlaceholder(post)));
      li.append(img);
    } else {
      li.append(stillPlaceholder(post));
    }
    const text = document.createElement("p");
    text.className = "caption";
    text.textContent = caption;
    text.title = `${caption}\n${post.media_type} · ${formatTime(post.timestamp)} · ${post.id}`;
    li.append(text);
    const badges = document.createElement("div");
    badges.className = "badges";
    badges.dataset.testid = `post-state-${post.id}`;
    if (post.pinned) badges.append(badge(`Pinned ${post.pinned}`, "pinned"));
    if (post.hidden) badges.append(badge("Hidden", "hidden-post"));
    else if (!post.shown) badges.append(badge("Filtered out", "filtered"));
    li.append(badges);
    const buttons = document.createElement("div");
    buttons.className = "buttons";
    buttons.append(
      postButton(post.hidden ? "Show" : "Hide", `post-hide-${post.id}`, () => toggleHidden(post)),
      postButton(post.pinned ? "Unpin" : "Pin", `post-pin-${post.id}`, () => togglePinned(post)),
    );
    li.append(buttons);
    return li;
  }

  function stillPlaceholder(post) {
    const still = document.createElement("div");
    still.className = "still";
    still.setAttribute("role", "img");
    still.setAttribute("aria-label", post.caption || "(no caption)");
    return still;
  }

  function badge(text, className) {
    const span = document.createElement("span");
    span.className = `badge ${className}`;
    span.textContent = text;
    return span;
  }

  function postButton(label, testid, run) {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = label;
    button.dataset.testid = testid;
    button.addEventListener("click", run);
    return button;
  }

  function toggleHidden(post) {
    const slug = state.curationSlug;
    action(async () => {
      await api(post.hidden ? "DELETE" : "PUT", `${accountPath(slug)}/hidden/${encodeURIComponent(post.id)}`);
      showError(null);
      showMessage(post.hidden ? `Showing post ${post.id} again.` : `Hid post ${post.id} from ${slug}'s feed.`);
      await loadCuration();
    });
  }

  function togglePinned(post) {
    const slug = state.curationSlug;
    const pins = (state.posts || [])
      .filter((p) => p.pinned)
      .sort((a, b) => a.pinned - b.pinned)
      .map((p) => p.id);
    const next = post.pinned ? pins.filter((id) => id !== post.id) : [...pins, post.id];
    if (next.length > MAX_PINS) {
      showMessage(null);
      showError(`At most ${MAX_PINS} posts can be pinned; unpin one first.`);
      return;
    }
    action(async () => {
      await api("PUT", `${accountPath(slug)}/pinned`, null, { media_ids: next });
      showError(null);
      showMessage(post.pinned ? `Unpinned post ${post.id}.` : `Pinned post ${post.id} as number ${next.length}.`);
      await loadCuration();
    });
  }

  // Comma-separated entries, trimmed, empty ones dropped.
  function entries(text) {
    return text
      .split(",")
      .map((e) => e.trim())
      .filter((e) => e !== "");
  }

  function saveFilters(event) {
    event.preventDefault();
    const slug = state.curationSlug;
    const filters = {
      types: [...els.filtersForm.querySelectorAll('input[name="types"]:checked')].map((b) => b.value),
      caption_includes: entries(els.filterIncludes.value),
      caption_excludes: entries(els.filterExcludes.value),
      hide_without_caption: els.filterNoCaption.checked,
    };
    action(async () => {
      await api("PUT", `${accountPath(slug)}/filters`, null, filters);
      showError(null);
      await loadCuration();
      const shown = (state.posts || []).filter((p) => p.shown).length;
      showMessage(`Saved the filters of ${slug}: its feed shows ${shown} of ${(state.posts || []).length} posts.`);
    });
  }

  function selectCurationAccount() {
    state.curationSlug = els.curationAccount.value;
    state.posts = null;
    renderPosts();
    action(loadCuration);
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

  // The accounts table, row by row keyed by slug: rows (and the focused button) survive a refresh.
  function renderAccounts(body) {
    state.accounts = body;
    els.accounts.hidden = body === null;
    if (body === null) {
      disarmRemove();
      els.accountRows.replaceChildren();
      return;
    }
    const list = body.accounts;
    if (state.confirming && !list.some((a) => a.slug === state.confirming)) disarmRemove();
    const rows = new Map([...els.accountRows.children].map((tr) => [tr.dataset.slug, tr]));
    let previous = null;
    for (const account of list) {
      let tr = rows.get(account.slug);
      rows.delete(account.slug);
      if (!tr) tr = accountRow(account.slug);
      updateAccountRow(tr, account);
      const next = previous ? previous.nextSibling : els.accountRows.firstChild;
      if (next !== tr) els.accountRows.insertBefore(tr, next);
      previous = tr;
    }
    for (const tr of rows.values()) tr.remove();
    els.accountsEmpty.hidden = list.length > 0;
    els.accountsCount.textContent = `${list.length} of at most ${body.max}`;
    const def = list.find((a) => a.default);
    els.defaultSlug.textContent = def ? def.slug : "";
    els.defaultSlug.hidden = !def;
    renderCurationAccounts(list, def);
    setButtons(state.busy > 0);
  }

  function cell(tr, testid, label, className) {
    const td = document.createElement("td");
    td.dataset.label = label;
    if (className) td.className = className;
    if (testid) td.dataset.testid = testid;
    tr.append(td);
    return td;
  }

  function button(text, testid, onClick, className) {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = text;
    b.dataset.testid = testid;
    if (className) b.className = className;
    b.addEventListener("click", onClick);
    return b;
  }

  function accountRow(slug) {
    const tr = document.createElement("tr");
    tr.dataset.slug = slug;
    tr.dataset.testid = `account-row-${slug}`;
    const name = document.createElement("th");
    name.scope = "row";
    name.dataset.label = "Account";
    const slugEl = document.createElement("code");
    slugEl.className = "slug";
    slugEl.textContent = slug;
    slugEl.dataset.testid = `account-slug-${slug}`;
    const badge = document.createElement("span");
    badge.className = "badge";
    badge.textContent = "default";
    badge.dataset.testid = `account-default-${slug}`;
    const login = document.createElement("span");
    login.className = "badge login";
    login.textContent = "Facebook Login";
    login.title = "Connected through Facebook Login: public hashtag search; the token needs a new login every ~60 days";
    login.dataset.testid = `account-login-${slug}`;
    const label = document.createElement("span");
    label.className = "label";
    label.dataset.testid = `account-label-${slug}`;
    name.append(slugEl, " ", badge, " ", login, label);
    tr.append(name);
    cell(tr, `account-username-${slug}`, "Instagram");
    const stateTd = cell(tr, null, "Token");
    const stateEl = document.createElement("span");
    stateEl.dataset.testid = `account-state-${slug}`;
    stateTd.append(stateEl);
    const expires = document.createElement("time");
    expires.dataset.testid = `account-expires-${slug}`;
    cell(tr, null, "Expires").append(expires);
    cell(tr, `account-items-${slug}`, "Items", "num");
    const synced = document.createElement("time");
    synced.dataset.testid = `account-synced-${slug}`;
    cell(tr, null, "Last sync").append(synced);
    cell(tr, `account-error-${slug}`, "Last error", "last-error");

    const actions = cell(tr, null, "Actions", "row-actions");
    const normal = document.createElement("div");
    normal.className = "row-buttons";
    normal.dataset.part = "buttons";
    normal.append(
      button("Connect", `account-connect-${slug}`, () => reauthorize(slug), "primary"),
      button("Sync", `account-sync-${slug}`, () => syncAccount(slug)),
      button("Remove", `account-remove-${slug}`, () => armRemove(slug)),
    );
    const confirm = document.createElement("div");
    confirm.className = "confirm";
    confirm.dataset.part = "confirm";
    confirm.dataset.testid = `account-remove-confirmation-${slug}`;
    confirm.setAttribute("role", "group");
    const question = document.createElement("span");
    question.dataset.part = "question";
    question.id = `account-remove-question-${slug}`;
    confirm.setAttribute("aria-labelledby", question.id);
    confirm.append(
      question,
      button("Yes", `account-remove-confirm-${slug}`, () => removeAccount(slug), "danger"),
      button("Cancel", `account-remove-cancel-${slug}`, () => cancelRemove(slug)),
    );
    actions.append(normal, confirm);
    return tr;
  }

  function updateAccountRow(tr, account) {
    const slug = account.slug;
    const t = account.token;
    const f = account.feed;
    const q = (testid) => tr.querySelector(`[data-testid="${testid}"]`);
    tr.classList.toggle("is-default", account.default);
    q(`account-default-${slug}`).hidden = !account.default;
    const label = q(`account-label-${slug}`);
    label.textContent = account.label || "";
    label.hidden = !account.label;
    const user = q(`account-username-${slug}`);
    user.textContent = t.username ? `@${t.username}` : "—";
    user.classList.toggle("none", !t.username);
    user.title = t.user_id ? `user id ${t.user_id}` : "";
    const stateEl = q(`account-state-${slug}`);
    stateEl.textContent = t.state;
    stateEl.className = `state state-${t.state}`;
    stateEl.title = t.reauth_required ? "Re-authorization required: click Connect" : "";
    q(`account-login-${slug}`).hidden = account.login !== "facebook";
    const expires = q(`account-expires-${slug}`);
    setTime(expires, t.expires_at);
    expires.classList.toggle("warn", Boolean(t.expires_soon));
    if (t.expires_soon) {
      expires.title = "Expires within 7 days: click Re-connect before then";
    }
    q(`account-items-${slug}`).textContent = String(f.items);
    setTime(q(`account-synced-${slug}`), f.synced_at);
    const error = q(`account-error-${slug}`);
    const problems = [t.last_error, f.last_error].filter(Boolean);
    error.textContent = problems.length ? problems.join(" · ") : "none";
    error.classList.toggle("none", problems.length === 0);

    const connected = t.state !== "missing";
    const connect = q(`account-connect-${slug}`);
    connect.textContent = connected ? "Re-connect" : "Connect";
    connect.className = t.reauth_required ? "primary" : "";
    connect.setAttribute("aria-label", `${connected ? "Re-connect" : "Connect"} ${slug}`);
    const sync = q(`account-sync-${slug}`);
    sync.dataset.unusable = connected ? "" : "yes";
    sync.setAttribute("aria-label", `Sync ${slug}`);
    sync.title = connected ? "" : "Connect the account first";
    const remove = q(`account-remove-${slug}`);
    remove.textContent = account.default ? "Empty" : "Remove";
    remove.setAttribute("aria-label", `${account.default ? "Empty" : "Remove"} ${slug}`);
    remove.title = account.default
      ? "The default account stays registered: this deletes its token, feed and pictures"
      : "Deletes the account with its token, feed and pictures";
    const armed = state.confirming === slug;
    tr.querySelector('[data-part="buttons"]').hidden = armed;
    tr.querySelector('[data-part="confirm"]').hidden = !armed;
    tr.querySelector('[data-part="question"]').textContent = account.default
      ? `Empty ${slug}? Its token, feed and pictures are deleted; it stays registered.`
      : `Remove ${slug} with its token, feed and pictures?`;
    const yes = q(`account-remove-confirm-${slug}`);
    yes.textContent = account.default ? "Yes, empty it" : "Yes, remove it";
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
    for (const b of [els.reauth, els.refresh, els.sync, els.reload, els.retryAssets, els.accountAdd]) {
      b.disabled = disabled;
    }
    for (const b of els.accountRows.querySelectorAll("button")) {
      b.disabled = disabled || b.dataset.unusable === "yes";
    }
    for (const b of els.curationPosts.querySelectorAll("button")) b.disabled = disabled;
    els.filtersSave.disabled = disabled;
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
  els.reauth.addEventListener("click", () => reauthorize(null));
  els.accountForm.addEventListener("submit", addAccount);
  els.accountSlug.addEventListener("input", () => els.accountSlug.removeAttribute("aria-invalid"));
  els.refresh.addEventListener("click", refreshToken);
  els.sync.addEventListener("click", syncNow);
  els.reload.addEventListener("click", () => action(loadStatus));
  els.retryAssets.addEventListener("click", retryAssets);
  els.curationAccount.addEventListener("change", selectCurationAccount);
  els.filtersForm.addEventListener("submit", saveFilters);
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
