// Gallery example for instagram-gateway: plain browser JavaScript, no dependencies.
// Copy index.html, gallery.js and gallery.css anywhere and open index.html over http(s).
//
// Query parameters:
//   ?api=<base URL of the service>   default http://localhost:8080
//   ?limit=<posts per page, 1-100>   default 12
//   ?account=<slug>                  an account of the service (default: its default account)
//
// "Public #hashtag" searches everyone's public posts with one hashtag (`source=public`): the
// account must be connected through Facebook Login (the sandbox's is `?account=tags`), and Meta
// allows each account 30 distinct hashtags a week, so a real site offers its own few tags.
//
// The page's origin must be allowed by the service's `cors.allowed_origins` (the local default
// allows http://localhost:* and http://127.0.0.1:*).
"use strict";

(function () {
  const params = new URLSearchParams(window.location.search);
  const API = (params.get("api") || "http://localhost:8080").replace(/\/+$/, "");
  const LIMIT = clampInt(params.get("limit"), 1, 100, 12);
  const ACCOUNT = params.get("account");
  // Where the account's routes are: `/images` and `/search`, or under `/accounts/<slug>`.
  const BASE = ACCOUNT ? `${API}/accounts/${encodeURIComponent(ACCOUNT)}` : API;
  // How wide a tile's picture is drawn, for the `sizes` of re-hosted pictures (see .grid in
  // gallery.css: columns of at least 15rem; one column below ~33rem, two below ~50rem, three
  // below ~68rem, then at most ~20rem each). `auto` lets browsers that support it use the
  // laid-out width of these lazy images; others skip it and use the rest.
  const TILE_SIZES =
    "auto, (max-width: 33rem) 100vw, (max-width: 50rem) 50vw, (max-width: 68rem) 34vw, 20rem";

  const $ = (testid) => document.querySelector(`[data-testid="${testid}"]`);
  const els = {
    form: $("search-form"),
    input: $("search-input"),
    type: $("type-filter"),
    source: $("source-filter"),
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
  // `source`: "" (the account's own posts) or "public" (public posts with a hashtag).
  const state = { query: "", type: "", source: "", cursor: null, count: 0, controller: null };

  // ---- fetching -------------------------------------------------------------------------------

  class ServiceError extends Error {}

  function pageUrl() {
    const url = new URL(state.query ? `${BASE}/search` : `${BASE}/images`);
    if (state.query) url.searchParams.set("q", state.query);
    if (state.query && state.source) url.searchParams.set("source", state.source);
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
    if (state.source === "public") {
      // As the service counts it: without `#`, lowercase.
      const tag = state.query.replace(/^#/, "").toLowerCase();
      if (n === 0) return `No public posts with #${tag}.`;
      return `${posts} with #${tag} from everyone${state.cursor ? " (more available)" : ""}`;
    }
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
      frame.append(picture(media, alt));
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

  // ---- pictures -------------------------------------------------------------------------------

  // The still of a post or album item (`item`: a Media or a child). Once the gateway has
  // re-hosted it, `item.image` lists WebP sizes: the browser picks one from `srcset`/`sizes`,
  // `width`/`height` give the shape before any byte arrives, and the ThumbHash placeholder (or
  // the average colour) is painted on a canvas behind the <img> until it loads. While `image`
  // is null, `display_url` (Instagram's CDN) is shown as it is.
  function picture(item, alt) {
    const wrap = el("div", { class: "picture" });
    const img = el("img", { alt, decoding: "async", "data-testid": "tile-image" });
    const image = usableImage(item.image);
    if (!image) {
      const url = safeUrl(item.display_url);
      if (url) img.src = url;
      wrap.append(img);
      return wrap;
    }

    const largest = image.sizes[image.sizes.length - 1];
    img.setAttribute("width", String(image.width));
    img.setAttribute("height", String(image.height));
    img.setAttribute("loading", "lazy");
    img.setAttribute("srcset", image.sizes.map((s) => `${s.url} ${s.width}w`).join(", "));
    img.setAttribute("sizes", TILE_SIZES);
    img.src = largest.url;

    const placeholder = placeholderCanvas(image);
    if (placeholder) wrap.append(placeholder);
    wrap.append(img);
    const done = () => {
      if (placeholder) placeholder.remove();
    };
    img.addEventListener("load", done);
    // A copy that does not load (e.g. the gateway's store is down): fall back to Instagram's
    // URL once, keeping the placeholder until something loads.
    const fallback = safeUrl(item.media_type === "VIDEO" ? item.thumbnail_url : item.media_url);
    img.addEventListener(
      "error",
      () => {
        if (!fallback) return;
        img.removeAttribute("srcset");
        img.removeAttribute("sizes");
        img.src = fallback;
      },
      { once: true },
    );
    return wrap;
  }

  // `image` if it has what the page needs (sizes with http(s) URLs), else null.
  function usableImage(image) {
    if (!image || !Array.isArray(image.sizes) || image.sizes.length === 0) return null;
    const sizes = [];
    for (const size of image.sizes) {
      const url = safeUrl(size && size.url);
      if (!url || !(size.width > 0)) return null;
      sizes.push({ url: url.replace(/[\s,]/g, encodeURIComponent), width: size.width });
    }
    const width = image.width > 0 ? image.width : sizes[sizes.length - 1].width;
    const height = image.height > 0 ? image.height : width;
    return { width, height, sizes, placeholder: image.placeholder, color: image.color };
  }

  // A canvas painted with the ThumbHash (or else the plain average colour), or null. A canvas
  // needs nothing from the page's Content-Security-Policy, unlike a data: URL (img-src data:).
  function placeholderCanvas(image) {
    const canvas = el("canvas", { class: "placeholder", "aria-hidden": "true" });
    const context = canvas.getContext && canvas.getContext("2d");
    if (!context) return null;
    const decoded =
      typeof image.placeholder === "string" ? thumbHashToImageData(image.placeholder) : null;
    if (decoded) {
      canvas.width = decoded.width;
      canvas.height = decoded.height;
      context.putImageData(decoded, 0, 0);
      return canvas;
    }
    if (typeof image.color === "string" && /^#[0-9a-f]{6}$/i.test(image.color)) {
      canvas.width = 1;
      canvas.height = 1;
      context.fillStyle = image.color;
      context.fillRect(0, 0, 1, 1);
      return canvas;
    }
    return null;
  }

  // Decodes a base64 ThumbHash (https://evanw.github.io/thumbhash/) into ImageData of at most
  // 32 px a side, or null when it is not one. The format: a 24-bit and a 16-bit little-endian
  // header (DC terms and scales of the L, P, Q channels, the alpha flag, the orientation and
  // the number of luminance terms across the short side), an alpha byte when there is alpha,
  // then 4-bit AC terms of L, P, Q (and A) in that order, low nibble first.
  function thumbHashToImageData(base64) {
    let bytes;
    try {
      bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
    } catch {
      return null;
    }
    if (bytes.length < 5) return null;
    const h24 = bytes[0] | (bytes[1] << 8) | (bytes[2] << 16);
    const h16 = bytes[3] | (bytes[4] << 8);
    const hasAlpha = (h24 >> 23) & 1;
    const landscape = (h16 >> 15) & 1;
    const longTerms = hasAlpha ? 5 : 7;
    const shortTerms = h16 & 7;
    if (shortTerms === 0 || (hasAlpha && bytes.length < 6)) return null;
    const lx = Math.max(3, landscape ? longTerms : shortTerms);
    const ly = Math.max(3, landscape ? shortTerms : longTerms);

    // AC terms: a triangle of (cx, cy) without (0, 0); each stored as a nibble, scaled.
    let nibble = 0;
    const acStart = hasAlpha ? 6 : 5;
    const terms = (nx, ny, scale) => {
      const list = [];
      for (let cy = 0; cy < ny; cy += 1) {
        for (let cx = cy === 0 ? 1 : 0; cx * ny < nx * (ny - cy); cx += 1) {
          const byte = bytes[acStart + (nibble >> 1)];
          if (byte === undefined) throw new RangeError("truncated ThumbHash");
          const q = (byte >> ((nibble & 1) * 4)) & 15;
          nibble += 1;
          list.push([cx, cy, 2 * scale * (q / 7.5 - 1)]);
        }
      }
      return list;
    };
    let l, p, q, a;
    try {
      l = terms(lx, ly, ((h24 >> 18) & 31) / 31);
      // Chroma terms are boosted by 1.25 to make up for their quantisation.
      p = terms(3, 3, 1.25 * (((h16 >> 3) & 63) / 63));
      q = terms(3, 3, 1.25 * (((h16 >> 9) & 63) / 63));
      a = hasAlpha ? terms(5, 5, (bytes[5] >> 4) / 15) : [];
    } catch {
      return null;
    }
    const dc = {
      l: (h24 & 63) / 63,
      p: ((h24 >> 6) & 63) / 31.5 - 1,
      q: ((h24 >> 12) & 63) / 31.5 - 1,
      a: hasAlpha ? (bytes[5] & 15) / 15 : 1,
    };

    // Shape: the ratio of the luminance term counts approximates the source's.
    const ratio = landscape ? longTerms / shortTerms : shortTerms / longTerms;
    const w = Math.max(1, Math.round(ratio > 1 ? 32 : 32 * ratio));
    const h = Math.max(1, Math.round(ratio > 1 ? 32 / ratio : 32));
    // cos(π/n · (i + ½) · c) for the term index c (at most 6) and pixel i.
    const cosines = (n) =>
      Array.from({ length: 7 }, (_, c) =>
        Array.from({ length: n }, (_, i) => Math.cos((Math.PI / n) * (i + 0.5) * c)),
      );
    const cx = cosines(w);
    const cy = cosines(h);
    const sum = (list, x, y) => {
      let total = 0;
      for (const [i, j, f] of list) total += f * cx[i][x] * cy[j][y];
      return total;
    };

    const out = new ImageData(w, h);
    for (let y = 0, o = 0; y < h; y += 1) {
      for (let x = 0; x < w; x += 1, o += 4) {
        const lum = dc.l + sum(l, x, y);
        const pp = dc.p + sum(p, x, y);
        const qq = dc.q + sum(q, x, y);
        // L (luminance), P (yellow-blue), Q (red-green) back to RGB.
        const b = lum - (2 / 3) * pp;
        const r = (3 * lum - b + qq) / 2;
        const g = r - qq;
        out.data[o] = 255 * r; // Uint8ClampedArray: clamped and rounded
        out.data[o + 1] = 255 * g;
        out.data[o + 2] = 255 * b;
        out.data[o + 3] = 255 * (dc.a + sum(a, x, y));
      }
    }
    return out;
  }

  // A video's thumbnail with a play badge. Clicking plays `media_url` in place; when there is
  // none (Instagram withholds it for some reels) or it fails to load, the thumbnail stays.
  function showVideo(frame, media, alt) {
    const thumbnail = picture(media, alt);
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
        slot.replaceChildren(picture(child, childAlt));
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

  els.apiBase.textContent = BASE;
  placeholder();

  function placeholder() {
    els.input.placeholder =
      els.source.value === "public" ? "One #hashtag, e.g. #coffee" : "Search captions or #hashtag";
  }

  els.form.addEventListener("submit", (event) => {
    event.preventDefault();
    state.query = els.input.value.trim();
    state.type = els.type.value;
    state.source = els.source.value;
    els.clear.hidden = state.query === "";
    load(true);
  });
  els.clear.addEventListener("click", () => {
    els.input.value = "";
    state.query = "";
    els.clear.hidden = true;
    load(true);
  });
  els.source.addEventListener("change", () => {
    placeholder();
    state.source = els.source.value;
    // Public search needs a hashtag: wait for one.
    if (state.query) load(true);
  });
  els.type.addEventListener("change", () => {
    state.type = els.type.value;
    load(true);
  });
  els.more.addEventListener("click", () => load(false));
  els.retry.addEventListener("click", () => load(state.count === 0));

  load(true);
})();
