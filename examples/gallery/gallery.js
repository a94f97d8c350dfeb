// Gallery example for instagram-gateway: plain browser JavaScript, no dependencies.
// Copy index.html, gallery.js and gallery.css anywhere and open index.html over http(s).
//
// Query parameters:
//   ?api=<base URL of the service>   default http://localhost:8080
//   ?limit=<posts per page, 1-100>   default 12
//
// The page's origin must be allowed by the service's `cors.allowed_origins` (the local default
// allows http://localhost:* and http://127.0.0.1:*).
"use strict";

(function () {
  const params = new URLSearchParams(window.location.search);
  const API = (params.get("api") || "http://localhost:8080").replace(/\/+$/, "");
  const LIMIT = clampInt(params.get("limit"), 1, 100, 12);

  const $ = (testid) => document.querySelector(`[data-testid="${testid}"]`);
  const els = {
    form: $("search-form"),
    input: $("search-input"),
    type: $("type-filter"),
    clear: $("search-clear"),
    summary: $("summary"),
    error: $("error"),
    errorMessage: $("error-message"),
    retry: $("retry"),
    grid: $("grid"),
    more: $("load-more"),
    apiBase: $("api-base"),
  };

  // What the grid shows: /images, or /search for `query`; `cursor` is the next page's.
  const state = { query: "", type: "", cursor: null, count: 0, controller: null };

  // ---- fetching -------------------------------------------------------------------------------

  class ServiceError extends Error {}

  function pageUrl() {
    const url = new URL(state.query ? `${API}/search` : `${API}/images`);
    if (state.query) url.searchParams.set("q", state.query);
    url.searchParams.set("limit", String(LIMIT));
    if (state.type) url.searchParams.set("type", state.type);
    if (state.cursor) url.searchParams.set("cursor", state.cursor);
    return url;
  }

  // One page of posts, or a ServiceError whose message is fit to show.
  async function fetchPage(signal) {
    let response;
    try {
      response = await fetch(pageUrl(), { signal, headers: { Accept: "application/json" } });
    } catch (err) {
      if (err.name === "AbortError") throw err;
      throw new ServiceError(
        `Cannot reach the service at ${API}. Is it running, and does its ` +
          `cors.allowed_origins allow this page's origin (${window.location.origin})?`,
      );
    }
    let body = null;
    try {
      body = await response.json();
    } catch {
      body = null;
    }
    if (!response.ok) throw new ServiceError(problemMessage(response, body));
    if (!body || !Array.isArray(body.data)) {
      throw new ServiceError(`Unexpected answer from ${API} (HTTP ${response.status}).`);
    }
    return body;
  }

  // application/problem+json → "Title (status): detail", plus when to retry.
  function problemMessage(response, problem) {
    const status = response.status;
    const title = (problem && problem.title) || response.statusText || "Error";
    const detail = problem && problem.detail ? `: ${problem.detail}` : "";
    let text = sentence(`${title} (HTTP ${status})${detail}`);
    if (status === 503) text = `The service cannot serve the feed right now. ${text}`;
    const retryAfter = response.headers.get("Retry-After");
    if (retryAfter) text += ` Retry after ${retryAfter} s.`;
    return text;
  }

  // Loads the next page; `reset` starts over (new search, filter or retry of the first page).
  async function load(reset) {
    if (state.controller) state.controller.abort();
    const controller = new AbortController();
    state.controller = controller;
    if (reset) {
      state.cursor = null;
      state.count = 0;
      els.grid.replaceChildren();
    }
    showError(null);
    els.more.disabled = true;
    els.grid.setAttribute("aria-busy", "true");
    els.summary.textContent = "Loading…";
    try {
      const page = await fetchPage(controller.signal);
      for (const media of page.data) els.grid.append(tile(media));
      state.count += page.data.length;
      state.cursor = (page.paging && page.paging.next_cursor) || null;
      els.more.hidden = state.cursor === null;
      els.summary.textContent = summary();
    } catch (err) {
      if (err.name === "AbortError") return;
      els.summary.textContent = state.count > 0 ? summary() : "";
      showError(err instanceof ServiceError ? err.message : `Unexpected error: ${err.message}`);
    } finally {
      if (state.controller === controller) {
        state.controller = null;
        els.more.disabled = false;
        els.grid.removeAttribute("aria-busy");
        els.grid.dataset.loaded = String(state.count);
      }
    }
  }

  function summary() {
    const n = state.count;
    const posts = n === 1 ? "1 post" : `${n} posts`;
    if (!state.query) return state.cursor ? `${posts} (more available)` : posts;
    if (n === 0) return `No posts match “${state.query}”.`;
    return `${posts} matching “${state.query}”${state.cursor ? " (more available)" : ""}`;
  }

  function showError(message) {
    els.error.hidden = message === null;
    els.errorMessage.textContent = message || "";
  }

  // ---- tiles ----------------------------------------------------------------------------------

  function tile(media) {
    const article = el("article", { class: "tile", "data-testid": "tile" });
    article.dataset.id = media.id;
    article.dataset.mediaType = media.media_type;

    const frame = el("div", { class: "frame" });
    article.append(frame);
    const alt = altText(media);

    if (media.media_type === "CAROUSEL_ALBUM" && media.children && media.children.length > 0) {
      carousel(frame, media.children, alt);
    } else if (media.media_type === "VIDEO") {
      showVideo(frame, media, alt);
    } else {
      frame.append(image(media.display_url, alt));
    }

    const info = el("div", { class: "info" });
    if (media.caption) info.append(el("p", { class: "caption", "data-testid": "caption" }, media.caption));
    const meta = el("p", { class: "meta" });
    if (media.timestamp) {
      const when = new Date(media.timestamp);
      meta.append(el("time", { datetime: media.timestamp }, when.toLocaleDateString()));
    }
    const permalink = safeUrl(media.permalink);
    if (permalink) {
      meta.append(
        el("a", { href: permalink, target: "_blank", rel: "noopener noreferrer" }, "View on Instagram"),
      );
    }
    info.append(meta);
    article.append(info);
    return article;
  }

  function altText(media) {
    const caption = (media.caption || "").replace(/\s+/g, " ").trim();
    if (caption) return caption.length > 150 ? `${caption.slice(0, 149)}…` : caption;
    const kind = { VIDEO: "Video", CAROUSEL_ALBUM: "Album" }[media.media_type] || "Photo";
    return media.username ? `${kind} by @${media.username}` : kind;
  }

  function image(src, alt) {
    const img = el("img", { alt, decoding: "async", "data-testid": "tile-image" });
    const url = safeUrl(src);
    if (url) img.src = url;
    return img;
  }

  // A video's thumbnail with a play badge. Clicking plays `media_url` in place; when there is
  // none (Instagram withholds it for some reels) or it fails to load, the thumbnail stays.
  function showVideo(frame, media, alt) {
    const thumbnail = image(media.display_url, alt);
    frame.replaceChildren(thumbnail);
    const source = safeUrl(media.media_url);
    if (!source) {
      frame.append(el("span", { class: "badge", "data-testid": "video-badge", title: "Video" }, "▶"));
      return;
    }
    const play = el(
      "button",
      { type: "button", class: "badge play", "data-testid": "play", "aria-label": "Play video" },
      "▶",
    );
    play.addEventListener("click", () => {
      const video = el("video", {
        controls: "",
        playsinline: "",
        preload: "auto",
        "data-testid": "video",
      });
      const poster = safeUrl(media.display_url);
      if (poster) video.poster = poster;
      video.addEventListener("error", () => {
        frame.replaceChildren(thumbnail, play);
        play.disabled = true;
        frame.append(el("span", { class: "note", "data-testid": "video-error" }, "Video unavailable"));
      });
      video.src = source;
      frame.replaceChildren(video);
      video.play().catch(() => {
        // Autoplay refused or the source failed: the controls (or the error handler) remain.
      });
    });
    frame.append(play);
  }

  // The album's items, one at a time, with previous/next buttons.
  function carousel(frame, children, alt) {
    let index = 0;
    const slot = el("div", { class: "slot" });
    const prev = el(
      "button",
      { type: "button", class: "nav prev", "data-testid": "carousel-prev", "aria-label": "Previous" },
      "‹",
    );
    const next = el(
      "button",
      { type: "button", class: "nav next", "data-testid": "carousel-next", "aria-label": "Next" },
      "›",
    );
    const position = el("span", { class: "position", "data-testid": "carousel-position" });
    frame.append(slot, prev, next, position);

    function show() {
      const child = children[index];
      const childAlt = `${alt} (${index + 1} of ${children.length})`;
      if (child.media_type === "VIDEO") {
        showVideo(slot, child, childAlt);
      } else {
        slot.replaceChildren(image(child.display_url, childAlt));
      }
      position.textContent = `${index + 1} / ${children.length}`;
      prev.disabled = index === 0;
      next.disabled = index === children.length - 1;
    }
    prev.addEventListener("click", () => {
      if (index > 0) index -= 1;
      show();
    });
    next.addEventListener("click", () => {
      if (index < children.length - 1) index += 1;
      show();
    });
    show();
  }

  // ---- helpers --------------------------------------------------------------------------------

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, value);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // Only http(s) URLs go into src/href.
  function safeUrl(value) {
    if (typeof value !== "string" || value === "") return null;
    try {
      const url = new URL(value);
      return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
    } catch {
      return null;
    }
  }

  function sentence(text) {
    return /[.!?]$/.test(text) ? text : `${text}.`;
  }

  function clampInt(text, min, max, fallback) {
    const n = Number.parseInt(text || "", 10);
    return Number.isFinite(n) ? Math.min(max, Math.max(min, n)) : fallback;
  }

  // ---- wiring ---------------------------------------------------------------------------------

  els.apiBase.textContent = API;

  els.form.addEventListener("submit", (event) => {
    event.preventDefault();
    state.query = els.input.value.trim();
    state.type = els.type.value;
    els.clear.hidden = state.query === "";
    load(true);
  });
  els.clear.addEventListener("click", () => {
    els.input.value = "";
    state.query = "";
    els.clear.hidden = true;
    load(true);
  });
  els.type.addEventListener("change", () => {
    state.type = els.type.value;
    load(true);
  });
  els.more.addEventListener("click", () => load(false));
  els.retry.addEventListener("click", () => load(state.count === 0));

  load(true);
})();
