#!/usr/bin/env node
// End-to-end browser tests: the gallery example, the operator page and /docs, in Debian's
// headless Chromium driven by playwright-core (no downloaded browser builds).
//
//   node tests/browser/run.mjs        (scripts/browser-tests.sh installs and builds first)
//
// Environment:
//   IGW_BIN      the service binary (default <repo>/target/debug/instagram-gateway)
//   CHROMIUM     the browser (default /usr/bin/chromium)
//   BROWSER_TEST_TIMEOUT_MS   upper bound of each wait (default 30000)
//   BROWSER_TEST_PICTURES_TIMEOUT_MS   how long the first page's pictures may take to be
//                re-hosted by the service (default 240000: a debug build does ~0.7 a second, and
//                the three sandbox accounts queue ~160 pictures; the default account's go first)
//
// It starts the service (sandbox mode, in-memory store, fixed admin token, free port), serves
// examples/gallery/ from another port, runs the checks and always stops what it started.
// Screenshots and the service's log go to <repo>/target/browser/. Exit status 1 on any failure.

import { spawn } from "node:child_process";
import { once } from "node:events";
import { constants as fsConstants, createReadStream, createWriteStream } from "node:fs";
import { access, mkdir, stat } from "node:fs/promises";
import http from "node:http";
import net from "node:net";
import path from "node:path";
import readline from "node:readline";
import { fileURLToPath } from "node:url";

import { chromium } from "playwright-core";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const BIN = process.env.IGW_BIN
  ? path.resolve(process.env.IGW_BIN)
  : path.join(ROOT, "target", "debug", "instagram-gateway");
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const OUT = path.join(ROOT, "target", "browser");
const GALLERY_DIR = path.join(ROOT, "examples", "gallery");
const TIMEOUT = Number(process.env.BROWSER_TEST_TIMEOUT_MS || 30000);
const STARTUP_TIMEOUT = 60000;
const PICTURES_TIMEOUT = Number(process.env.BROWSER_TEST_PICTURES_TIMEOUT_MS || 240000);
const ADMIN_TOKEN = "browser-tests-admin-token-0123456789abcdef";
const PAGE_SIZE = 12;
const SEARCH_TERM = "sunset";
const PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; " +
  "form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

// ---- results --------------------------------------------------------------------------------

const results = { passed: 0, failed: 0, skipped: 0 };

// Runs the steps of one section in order; after a failure the rest of the section is skipped
// (they build on each other) and a screenshot of the page is saved.
async function section(name, page, steps) {
  let failed = false;
  for (const [title, run] of steps) {
    const label = `${name}: ${title}`;
    if (failed) {
      results.skipped += 1;
      console.log(`skip - ${label}`);
      continue;
    }
    const started = Date.now();
    try {
      await run();
      results.passed += 1;
      console.log(`ok - ${label} (${Date.now() - started} ms)`);
    } catch (err) {
      failed = true;
      results.failed += 1;
      console.log(`not ok - ${label}\n    ${String(err && err.message).split("\n").join("\n    ")}`);
      if (page && !page.isClosed()) {
        const file = path.join(OUT, `${name}-failure.png`);
        await page.screenshot({ path: file, fullPage: true }).catch(() => {});
        console.log(`    screenshot: ${path.relative(ROOT, file)}`);
      }
    }
  }
}

function assert(condition, message) {
  if (!condition) throw new Error(message);
}

function assertEqual(actual, expected, what) {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new Error(`${what}: expected ${e}, got ${a}`);
}

// page.waitForFunction with a message that says what was awaited and what the page showed.
async function waitUntil(page, description, predicate, arg, describe) {
  try {
    await page.waitForFunction(predicate, arg, { timeout: TIMEOUT, polling: 100 });
  } catch (err) {
    let seen = "";
    if (describe) seen = await describe().catch((e) => `(could not read the page: ${e.message})`);
    const reason = /Timeout/i.test(String(err && err.message)) ? `timed out after ${TIMEOUT} ms` : String(err.message);
    throw new Error(`waiting for ${description}: ${reason}${seen ? `\npage shows: ${seen}` : ""}`);
  }
}

// ---- processes we start ---------------------------------------------------------------------

const cleanups = [];
let cleaning = null;

// Undoes what was started, newest first; every caller waits for the same single run.
function cleanup() {
  cleaning ??= (async () => {
    while (cleanups.length > 0) {
      const step = cleanups.pop();
      try {
        await step();
      } catch (err) {
        console.error(`cleanup: ${err.message}`);
      }
    }
  })();
  return cleaning;
}

async function startService() {
  try {
    await access(BIN, fsConstants.X_OK);
  } catch {
    throw new Error(`service binary ${BIN} is missing or not executable (build it, or set IGW_BIN)`);
  }
  // Only our settings: none of the caller's IGW_* variables leak in.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("IGW")));
  Object.assign(env, {
    IGW_ENV: "local",
    IGW__SERVER__HOST: "127.0.0.1",
    IGW__SERVER__PORT: "0",
    IGW__SERVER__SHUTDOWN_GRACE_SECS: "2",
    IGW__LOG__FORMAT: "json",
    IGW__INSTAGRAM__MODE: "sandbox",
    IGW__ADMIN__TOKEN: ADMIN_TOKEN,
    RUST_LOG: "info",
  });
  const logFile = path.join(OUT, "service.log");
  const log = createWriteStream(logFile);
  const child = spawn(BIN, [], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
  child.stderr.pipe(log, { end: false });
  const exited = once(child, "exit");
  // Last resort, whatever way this process ends: never leave the service running.
  process.on("exit", () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  });
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10000);
      await exited;
      clearTimeout(timer);
    }
    log.end();
  });

  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`the service did not report its address within ${STARTUP_TIMEOUT} ms (see ${logFile})`)),
      STARTUP_TIMEOUT,
    );
    child.on("error", (err) => reject(new Error(`cannot start ${BIN}: ${err.message}`)));
    child.on("exit", (code, signal) =>
      reject(new Error(`the service exited early (status ${code ?? signal}); see ${logFile}`)),
    );
    readline.createInterface({ input: child.stdout }).on("line", (line) => {
      log.write(`${line}\n`);
      try {
        const entry = JSON.parse(line);
        if (entry.fields && entry.fields.message === "instagram-gateway listening") {
          clearTimeout(timer);
          resolve(entry.fields.url);
        }
      } catch {
        // not JSON: keep it in the log only
      }
    });
  });
  return url.replace(/\/+$/, "");
}

// The first read waits for the sandbox's first sync; until the account is connected it may
// answer 503, so ask again until it answers 200 (bounded).
async function waitForFeed(base) {
  const deadline = Date.now() + STARTUP_TIMEOUT;
  let last = "";
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${base}/images?limit=1`);
      if (res.ok) return;
      last = `HTTP ${res.status}: ${await res.text()}`;
    } catch (err) {
      last = err.message;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the feed was not served within ${STARTUP_TIMEOUT} ms (last answer: ${last})`);
}

// Every item of the first page (and every album item) has its re-hosted `image`: polls the API
// for at most PICTURES_TIMEOUT, returns that page.
async function waitForPictures(base, limit) {
  const deadline = Date.now() + PICTURES_TIMEOUT;
  for (;;) {
    const page = await getJson(`${base}/images?limit=${limit}`);
    const items = page.data.flatMap((m) => [m, ...m.children]);
    const missing = items.filter((m) => !m.image).length;
    if (missing === 0) return page;
    if (Date.now() > deadline) {
      throw new Error(`${missing} of the first page's ${items.length} pictures were not re-hosted within ${PICTURES_TIMEOUT} ms`);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function getJson(url, headers = {}) {
  const res = await fetch(url, { headers });
  const text = await res.text();
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}: ${text}`);
  return JSON.parse(text);
}

const CONTENT_TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
};

// The gallery's CSP, as a site hosting it would set: its own script and style, and only the
// service (`?api=`) for data, pictures and videos. The sandbox's "CDN" is under the service's
// origin; a real site also lists Instagram's CDN hosts. No data: URLs: the placeholders are
// painted on canvases.
function galleryCsp(api) {
  let origin = "http://localhost:8080";
  try {
    if (api) origin = new URL(api).origin;
  } catch {
    // the page shows its own error for a malformed ?api=
  }
  return (
    `default-src 'none'; script-src 'self'; style-src 'self'; connect-src ${origin}; img-src ${origin}; ` +
    `media-src ${origin}; form-action 'none'; frame-ancestors 'none'; base-uri 'none'`
  );
}

// A tiny static server for examples/gallery/ (another port = another origin than the service).
async function serveGallery() {
  const server = http.createServer(async (req, res) => {
    try {
      const requested = new URL(req.url, "http://localhost");
      let rel = decodeURIComponent(requested.pathname);
      if (rel.endsWith("/")) rel += "index.html";
      const file = path.join(GALLERY_DIR, path.normalize(rel));
      if (!file.startsWith(GALLERY_DIR + path.sep) || !(await stat(file)).isFile()) throw new Error("no file");
      const headers = {
        "content-type": CONTENT_TYPES[path.extname(file)] || "application/octet-stream",
        "cache-control": "no-store",
      };
      if (path.extname(file) === ".html") {
        headers["content-security-policy"] = galleryCsp(requested.searchParams.get("api"));
      }
      res.writeHead(200, headers);
      createReadStream(file).pipe(res);
    } catch {
      res.writeHead(404, { "content-type": "text/plain" });
      res.end("not found\n");
    }
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  cleanups.push(
    () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return `http://127.0.0.1:${server.address().port}`;
}

// A port nobody listens on (for the "service unreachable" check).
async function closedPort() {
  const server = net.createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

// ---- the gallery ----------------------------------------------------------------------------

async function galleryTests(context, service, gallery) {
  // Fetched at start-up, while the service is still re-hosting pictures: some have `image`,
  // some not yet. Refreshed once the first page's are ready (see below).
  let page1 = await getJson(`${service}/images?limit=${PAGE_SIZE}`);
  const page2 = await getJson(`${service}/images?limit=${PAGE_SIZE}&cursor=${page1.paging.next_cursor}`);
  const search = await getJson(`${service}/search?q=${encodeURIComponent(SEARCH_TERM)}&limit=${PAGE_SIZE}`);
  const videos = await getJson(`${service}/images?type=video&limit=${PAGE_SIZE}`);
  const ids = (page) => page.data.map((m) => m.id);
  let album = page1.data.find((m) => m.media_type === "CAROUSEL_ALBUM" && m.children.length >= 2);
  let video = page1.data.find((m) => m.media_type === "VIDEO" && m.media_url);
  let reel = page1.data.find((m) => m.media_type === "VIDEO" && !m.media_url);
  assert(page1.data.length === PAGE_SIZE && page1.paging.next_cursor, "the sandbox feed has fewer posts than expected");
  assert(album && video && reel, "the sandbox's first page lacks an album, a video or a reel without media_url");
  assert(search.data.length > 0 && search.data.length < PAGE_SIZE, `"${SEARCH_TERM}" should match a few posts`);

  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (err) => errors.push(err.message));
  page.on("console", (msg) => {
    if (/Content Security Policy/i.test(msg.text())) errors.push(`CSP: ${msg.text()}`);
  });
  // Every request the page makes (pictures included), for the "none from the CDN" check.
  let requests = [];
  page.on("request", (request) => requests.push(request.url()));
  const url = `${gallery}/index.html?api=${encodeURIComponent(service)}&limit=${PAGE_SIZE}`;
  const grid = '[data-testid="grid"]';
  const describe = () =>
    page.evaluate(() => {
      const tiles = document.querySelectorAll('[data-testid="tile"]').length;
      const imgs = [...document.querySelectorAll('[data-testid="tile-image"]')];
      const broken = imgs.filter((i) => !(i.complete && i.naturalWidth > 0)).length;
      const summary = document.querySelector('[data-testid="summary"]').textContent;
      const error = document.querySelector('[data-testid="error"]');
      return `${tiles} tiles, ${broken} of ${imgs.length} images not loaded, summary "${summary}"` +
        (error.hidden ? "" : `, error "${error.textContent.trim()}"`);
    });
  // All tiles present, in this order, every image loaded.
  const gridShows = (expectedIds) =>
    waitUntil(
      page,
      `${expectedIds.length} tiles with loaded images`,
      ({ expected }) => {
        const tiles = [...document.querySelectorAll('[data-testid="grid"] [data-testid="tile"]')];
        if (tiles.map((t) => t.dataset.id).join() !== expected.join()) return false;
        if (document.querySelector('[data-testid="grid"]').getAttribute("aria-busy")) return false;
        const imgs = tiles.flatMap((t) => [...t.querySelectorAll("img")]);
        // Re-hosted pictures load lazily: bring the first one still waiting into view, as a
        // visitor scrolling down would.
        const waiting = imgs.find((i) => !i.complete);
        if (waiting) waiting.scrollIntoView({ block: "center" });
        return imgs.length >= tiles.length && imgs.every((i) => i.complete && i.naturalWidth > 0 && i.alt);
      },
      { expected: expectedIds },
      describe,
    );
  const tile = (id) => page.locator(`${grid} [data-testid="tile"][data-id="${id}"]`);

  await section("gallery", page, [
    [
      `the first page shows ${PAGE_SIZE} tiles whose images loaded (gallery on ${gallery}, service on ${service})`,
      async () => {
        const response = await page.goto(url);
        assertEqual(response.headers()["content-security-policy"], galleryCsp(service), "the gallery's CSP");
        await gridShows(ids(page1));
        await page.getByTestId("load-more").waitFor({ state: "visible", timeout: TIMEOUT });
        const origin = await page.evaluate(() => window.location.origin);
        assert(origin !== new URL(service).origin, "the gallery must run on another origin than the service");
      },
    ],
    [
      `once the first page's pictures are re-hosted (up to ${PICTURES_TIMEOUT / 1000} s), a reload loads every one from ${service}/assets/ and none from the CDN`,
      async () => {
        const started = Date.now();
        page1 = await waitForPictures(service, PAGE_SIZE);
        console.log(`    # the first page's pictures were ready ${Date.now() - started} ms into this step`);
        const byId = (id) => page1.data.find((m) => m.id === id);
        [album, video, reel] = [byId(album.id), byId(video.id), byId(reel.id)];
        // Nothing from the HTTP cache: every picture is a request seen below.
        const cdp = await context.newCDPSession(page);
        await cdp.send("Network.clearBrowserCache");
        await cdp.detach();
        requests = [];
        await page.reload();
        await gridShows(ids(page1));
        const shown = await page.evaluate(() =>
          [...document.querySelectorAll('[data-testid="grid"] [data-testid="tile"]')].map((t) => {
            const img = t.querySelector("img");
            return {
              id: t.dataset.id,
              src: img.getAttribute("src"),
              currentSrc: img.currentSrc,
              srcset: img.getAttribute("srcset"),
              sizes: img.getAttribute("sizes"),
              width: img.getAttribute("width"),
              height: img.getAttribute("height"),
              loading: img.getAttribute("loading"),
              naturalWidth: img.naturalWidth,
              placeholders: t.querySelectorAll("canvas").length,
            };
          }),
        );
        for (const [i, s] of shown.entries()) {
          const media = page1.data[i];
          // An album shows its first item; a video its thumbnail (both re-hosted).
          const { image } = media.media_type === "CAROUSEL_ALBUM" ? media.children[0] : media;
          const what = `tile ${i + 1} (${media.media_type} ${media.id})`;
          assert(s.naturalWidth > 0, `${what}: the picture did not load`);
          assert(
            s.currentSrc.startsWith(`${service}/assets/`) && s.currentSrc.endsWith(".webp"),
            `${what}: shows ${s.currentSrc}, not a copy under ${service}/assets/`,
          );
          assert(image.sizes.some((z) => z.url === s.currentSrc), `${what}: ${s.currentSrc} is not one of its sizes`);
          assertEqual(s.srcset, image.sizes.map((z) => `${z.url} ${z.width}w`).join(", "), `${what}: srcset`);
          assertEqual(s.src, image.sizes[image.sizes.length - 1].url, `${what}: src (the largest size)`);
          assertEqual([s.width, s.height], [String(image.width), String(image.height)], `${what}: width and height`);
          assert(s.sizes && s.loading === "lazy", `${what}: sizes "${s.sizes}", loading "${s.loading}"`);
          assertEqual(s.placeholders, 0, `${what}: placeholders left after loading`);
        }
        const cdn = requests.filter((u) => u.includes("/sandbox/cdn/"));
        assertEqual(cdn, [], "requests to the CDN");
        const copies = requests.filter((u) => u.startsWith(`${service}/assets/`));
        assert(copies.length >= PAGE_SIZE, `only ${copies.length} requests for copies under /assets/`);
        await page.screenshot({ path: path.join(OUT, "gallery-assets.png"), fullPage: true });
      },
    ],
    [
      "while copies load, a ThumbHash placeholder of the picture's shape is painted; pictures not re-hosted yet show Instagram's",
      async () => {
        // Every other post as the API sends it before its picture is re-hosted: image null,
        // display_url Instagram's URL (media_url; a video's thumbnail_url).
        const unhosted = new Set(page1.data.filter((_, i) => i % 2 === 1).map((m) => m.id));
        const cdnUrl = (m) => (m.media_type === "VIDEO" ? m.thumbnail_url : m.media_url);
        const withoutImage = (m) => ({
          ...m,
          image: null,
          display_url: m.media_type === "CAROUSEL_ALBUM" ? cdnUrl(m.children[0]) : cdnUrl(m),
          children: m.children.map((c) => ({ ...c, image: null, display_url: cdnUrl(c) })),
        });
        const feed = `${service}/images?**`;
        await page.route(feed, async (route) => {
          const response = await route.fetch();
          const body = await response.json();
          body.data = body.data.map((m) => (unhosted.has(m.id) ? withoutImage(m) : m));
          await route.fulfill({ response, json: body });
        });
        // Hold the copies back until the placeholders have been looked at.
        let release;
        const held = new Promise((resolve) => {
          release = resolve;
        });
        const copies = `${service}/assets/**`;
        await page.route(copies, async (route) => {
          await held;
          await route.continue();
        });
        try {
          // Not until "load": the held copies would delay that event.
          await page.reload({ waitUntil: "domcontentloaded" });
          await waitUntil(
            page,
            "the tiles, with placeholders for the re-hosted pictures",
            ({ n }) => document.querySelectorAll('[data-testid="tile"]').length === n && !document.querySelector('[data-testid="grid"]').getAttribute("aria-busy"),
            { n: PAGE_SIZE },
            describe,
          );
          const before = await page.evaluate(() =>
            [...document.querySelectorAll('[data-testid="tile"]')].map((t) => {
              const canvas = t.querySelector("canvas.placeholder");
              const img = t.querySelector("img");
              let painted = false;
              if (canvas && canvas.width > 0) {
                const px = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
                painted = px.some((v, k) => k % 4 === 3 && v > 0);
              }
              const box = t.querySelector(".frame").getBoundingClientRect();
              return {
                id: t.dataset.id,
                canvas: canvas ? [canvas.width, canvas.height] : null,
                painted,
                loaded: img.complete && img.naturalWidth > 0,
                srcset: img.getAttribute("srcset"),
                src: img.getAttribute("src"),
                box: [box.width, box.height],
              };
            }),
          );
          for (const [i, b] of before.entries()) {
            const media = page1.data[i];
            const what = `tile ${i + 1} (${media.media_type} ${media.id})`;
            if (unhosted.has(b.id)) {
              const expected = media.media_type === "CAROUSEL_ALBUM" ? cdnUrl(media.children[0]) : cdnUrl(media);
              assertEqual([b.src, b.srcset, b.canvas], [expected, null, null], `${what} without image: src, srcset, placeholder`);
            } else {
              assert(!b.loaded, `${what}: the copy loaded although held back`);
              assert(b.canvas && b.canvas[0] > 0 && b.canvas[0] <= 32 && b.canvas[1] <= 32, `${what}: placeholder canvas ${JSON.stringify(b.canvas)}`);
              assert(b.painted, `${what}: the placeholder canvas is blank`);
            }
          }
          await page.screenshot({ path: path.join(OUT, "gallery-placeholders.png"), fullPage: true });
          release();
          await gridShows(ids(page1));
          const after = await page.evaluate(() =>
            [...document.querySelectorAll('[data-testid="tile"]')].map((t) => {
              const box = t.querySelector(".frame").getBoundingClientRect();
              return { placeholders: t.querySelectorAll("canvas").length, box: [box.width, box.height] };
            }),
          );
          assertEqual(after.map((a) => a.placeholders), before.map(() => 0), "placeholders left after loading");
          assertEqual(after.map((a) => a.box), before.map((b) => b.box), "the pictures' boxes before and after loading");
        } finally {
          release();
          await page.unroute(copies);
          await page.unroute(feed);
        }
        await page.reload();
        await gridShows(ids(page1));
      },
    ],
    [
      `an album pages through its ${album.children.length} items`,
      async () => {
        const t = tile(album.id);
        const n = album.children.length;
        const showsChild = (i) =>
          waitUntil(
            page,
            `album item ${i + 1} / ${n}`,
            ({ id, src, label }) => {
              const el = document.querySelector(`[data-testid="tile"][data-id="${id}"]`);
              const img = el && el.querySelector(".slot img");
              const pos = el && el.querySelector('[data-testid="carousel-position"]');
              return !!img && img.src === src && img.complete && img.naturalWidth > 0 && pos.textContent === label;
            },
            { id: album.id, src: album.children[i].display_url, label: `${i + 1} / ${n}` },
            describe,
          );
        await showsChild(0);
        assert(await t.getByTestId("carousel-prev").isDisabled(), "'previous' should be disabled on the first item");
        for (let i = 1; i < n; i += 1) {
          await t.getByTestId("carousel-next").click();
          await showsChild(i);
        }
        assert(await t.getByTestId("carousel-next").isDisabled(), "'next' should be disabled on the last item");
        await t.getByTestId("carousel-prev").click();
        await showsChild(n - 2);
      },
    ],
    [
      "a video shows its thumbnail and keeps it when the file cannot play",
      async () => {
        const t = tile(video.id);
        await t.getByTestId("play").click();
        await t.getByTestId("video-error").waitFor({ state: "visible", timeout: TIMEOUT });
        const thumb = await t.locator('[data-testid="tile-image"]').evaluate((i) => ({
          src: i.src,
          loaded: i.complete && i.naturalWidth > 0,
        }));
        assertEqual(thumb, { src: video.display_url, loaded: true }, "the video tile's thumbnail");
        // A reel whose media_url Instagram withholds: thumbnail and badge, no play button.
        const r = tile(reel.id);
        assertEqual(await r.getByTestId("play").count(), 0, "play buttons on a video without media_url");
        await r.getByTestId("video-badge").waitFor({ state: "visible", timeout: TIMEOUT });
      },
    ],
    [
      `"Load more" appends the next ${PAGE_SIZE} posts`,
      async () => {
        await page.getByTestId("load-more").click();
        await gridShows([...ids(page1), ...ids(page2)]);
        await page.screenshot({ path: path.join(OUT, "gallery.png"), fullPage: true });
      },
    ],
    [
      `a search for "${SEARCH_TERM}" narrows the grid to ${search.data.length} posts`,
      async () => {
        await page.getByTestId("search-input").fill(SEARCH_TERM);
        await page.getByTestId("search-submit").click();
        await gridShows(ids(search));
        assert(await page.getByTestId("load-more").isHidden(), "'Load more' should be hidden without next_cursor");
        await page.screenshot({ path: path.join(OUT, "gallery-search.png"), fullPage: true });
        await page.getByTestId("search-clear").click();
        await gridShows(ids(page1));
        assertEqual(await page.getByTestId("search-input").inputValue(), "", "the search box after Clear");
      },
    ],
    [
      "the type filter shows only videos",
      async () => {
        await page.getByTestId("type-filter").selectOption("video");
        await gridShows(ids(videos));
        await page.getByTestId("type-filter").selectOption("");
        await gridShows(ids(page1));
      },
    ],
    [
      "a public #hashtag search on the Facebook Login account shows everyone's posts with the tag",
      async () => {
        const expected = await getJson(
          `${service}/accounts/tags/search?q=%23coffee&source=public&type=image&limit=${PAGE_SIZE}`,
        );
        assert(
          expected.data.length === PAGE_SIZE && expected.data.every((m) => m.username === null),
          "the sandbox's public #coffee images (no username: Meta does not return it)",
        );
        await page.goto(`${url}&account=tags`);
        await page.getByTestId("type-filter").selectOption("image");
        await page.getByTestId("source-filter").selectOption("public");
        await page.getByTestId("search-input").fill("#Coffee");
        await page.getByTestId("search-submit").click();
        await gridShows(ids(expected));
        const summary = await page.getByTestId("summary").textContent();
        assert(summary.includes("#coffee"), `the summary names the tag: ${summary}`);
        await page.screenshot({ path: path.join(OUT, "gallery-public-tag.png"), fullPage: true });
        await page.goto(url);
        await gridShows(ids(page1));
      },
    ],
    [
      "a 503 problem shows its detail and Retry-After, and Retry recovers",
      async () => {
        // The sandbox serves from its first second on, so the 503 is simulated at the network
        // layer, shaped as the service sends it (problem+json, Retry-After exposed by CORS).
        const origin = await page.evaluate(() => window.location.origin);
        const pattern = `${service}/images?**`;
        await page.route(pattern, (route) =>
          route.fulfill({
            status: 503,
            headers: {
              "content-type": "application/problem+json",
              "retry-after": "7",
              "access-control-allow-origin": origin,
              "access-control-expose-headers": "retry-after",
            },
            body: JSON.stringify({
              type: "feed_unavailable",
              title: "Feed unavailable",
              status: 503,
              detail: "no Instagram account is connected; the operator must re-authorize",
            }),
          }),
        );
        await page.reload();
        await waitUntil(
          page,
          "the 503 message",
          () => {
            const e = document.querySelector('[data-testid="error"]');
            const t = e.textContent;
            return !e.hidden && t.includes("the operator must re-authorize.") && t.includes("Retry after 7 s") && t.includes("503");
          },
          undefined,
          describe,
        );
        await page.screenshot({ path: path.join(OUT, "gallery-503.png"), fullPage: true });
        await page.unroute(pattern);
        await page.getByTestId("retry").click();
        await gridShows(ids(page1));
        assert(await page.getByTestId("error").isHidden(), "the error should be gone after a successful retry");
      },
    ],
    [
      "an unreachable service and a problem answer are shown clearly",
      async () => {
        const port = await closedPort();
        await page.goto(`${gallery}/index.html?api=${encodeURIComponent(`http://127.0.0.1:${port}`)}`);
        await waitUntil(
          page,
          "the 'cannot reach' message",
          () => {
            const e = document.querySelector('[data-testid="error"]');
            return !e.hidden && e.textContent.includes("Cannot reach the service");
          },
          undefined,
          describe,
        );
        // A wrong base path: the service answers a 404 problem.
        await page.goto(`${gallery}/index.html?api=${encodeURIComponent(`${service}/no-such-prefix`)}`);
        await waitUntil(
          page,
          "the 404 problem's title, status and detail",
          () => {
            const e = document.querySelector('[data-testid="error"]');
            return !e.hidden && /\(HTTP 404\): no resource at \/no-such-prefix\/images/.test(e.textContent);
          },
          undefined,
          describe,
        );
        await page.screenshot({ path: path.join(OUT, "gallery-error.png"), fullPage: true });
      },
    ],
    [
      "no CSP violations or uncaught script errors",
      async () => assertEqual(errors, [], "errors on the gallery page"),
    ],
  ]);
  await page.close();
}

// ---- the operator page ----------------------------------------------------------------------

async function operatorTests(context, service) {
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (err) => errors.push(`uncaught: ${err.message}`));
  page.on("console", (msg) => {
    if (/Content Security Policy/i.test(msg.text())) errors.push(`CSP: ${msg.text()}`);
  });
  const text = (testid) => page.getByTestId(testid).textContent();
  const describe = () =>
    page.evaluate(() => {
      const q = (id) => document.querySelector(`[data-testid="${id}"]`);
      const shown = (id) => (q(id).hidden ? "" : ` ${id} "${q(id).textContent.trim()}"`);
      return `state "${q("token-state").textContent}", obtained_at ${q("token-obtained-at").getAttribute("datetime")}` +
        `${shown("error")}${shown("message")}`;
    });
  const stored = () => page.evaluate(() => window.sessionStorage.getItem("igw-admin-token"));
  let obtainedBefore = null;

  await section("operator", page, [
    [
      "/admin redirects to /admin/, served with a strict CSP",
      async () => {
        const response = await page.goto(`${service}/admin`);
        assertEqual(page.url(), `${service}/admin/`, "the page's URL");
        const headers = response.headers();
        assertEqual(headers["content-security-policy"], PAGE_CSP, "Content-Security-Policy");
        assertEqual(headers["cache-control"], "no-store", "Cache-Control");
        await page.getByTestId("token-input").waitFor({ state: "visible", timeout: TIMEOUT });
      },
    ],
    [
      "a wrong token shows an error",
      async () => {
        await page.getByTestId("token-input").fill("not-the-admin-token-not-the-admin-token");
        await page.getByTestId("token-submit").click();
        await waitUntil(
          page,
          "the 401 error",
          () => {
            const e = document.querySelector('[data-testid="error"]');
            return !e.hidden && e.textContent.includes("401");
          },
          undefined,
          describe,
        );
        assert(await page.getByTestId("status").isHidden(), "the status must stay hidden");
        assertEqual(await stored(), null, "sessionStorage after a refused token");
        await page.screenshot({ path: path.join(OUT, "admin-wrong-token.png"), fullPage: true });
      },
    ],
    [
      "the right token shows the status",
      async () => {
        await page.getByTestId("token-input").fill(ADMIN_TOKEN);
        await page.getByTestId("token-submit").click();
        await waitUntil(
          page,
          "a valid token and 60 items",
          () => {
            const q = (id) => document.querySelector(`[data-testid="${id}"]`);
            return !q("status").hidden && q("token-state").textContent === "valid" && q("feed-items").textContent === "60";
          },
          undefined,
          describe,
        );
        assertEqual(await text("token-username"), "@sandbox.gallery", "account");
        assert(await page.getByTestId("error").isHidden(), "the earlier error should be cleared");
        assert(await page.getByTestId("token-form").isHidden(), "the token form should be hidden");
        assertEqual(await stored(), ADMIN_TOKEN, "sessionStorage");
        obtainedBefore = await page.getByTestId("token-obtained-at").getAttribute("datetime");
        assert(obtainedBefore, "obtained_at should be shown");
        assert(/%/.test(await text("rate-limit-max")), "rate-limit usage should be shown");
      },
    ],
    [
      'the re-hosted pictures are shown, and "Retry failed pictures" answers 200',
      async () => {
        const api = (await getJson(`${service}/admin/status`, { Authorization: `Bearer ${ADMIN_TOKEN}` })).assets;
        const shown = await page.evaluate(() => {
          const q = (id) => document.querySelector(`[data-testid="${id}"]`).textContent;
          return {
            enabled: q("assets-enabled"),
            store: q("assets-store"),
            ready: q("assets-ready"),
            pending: q("assets-pending"),
            failed: q("assets-failed"),
            bytes: q("assets-bytes"),
          };
        });
        assertEqual([shown.enabled, shown.store], ["on", api.store], "re-hosting and store");
        const counts = ["ready", "pending", "failed"].map((k) => Number(shown[k]));
        assert(counts.every(Number.isInteger), `counts shown: ${JSON.stringify(shown)}`);
        // The pipeline moves on between the two reads; the pictures it knows of do not.
        assertEqual(counts[0] + counts[1] + counts[2], api.ready + api.pending + api.failed, "ready + pending + failed");
        assert(counts[0] >= PAGE_SIZE && /\d (kB|MB|GB)$/.test(shown.bytes), `ready ${counts[0]}, stored "${shown.bytes}"`);
        const answered = page.waitForResponse((r) => r.url() === `${service}/admin/assets/retry` && r.request().method() === "POST");
        await page.getByTestId("assets-retry").click();
        const response = await answered;
        assertEqual(response.status(), 200, "POST /admin/assets/retry");
        const { requeued } = await response.json();
        await waitUntil(
          page,
          "the retry message",
          ({ n }) => {
            const m = document.querySelector('[data-testid="message"]');
            const text = n === 0 ? "No failed pictures to retry." : `Retrying ${n} failed`;
            return !m.hidden && m.textContent.includes(text);
          },
          { n: requeued },
          describe,
        );
        assert(await page.getByTestId("error").isHidden(), "no error after the retry");
      },
    ],
    [
      '"Refresh token" shows the problem detail (the sandbox token is under 24 h old)',
      async () => {
        await page.getByTestId("refresh-token").click();
        await waitUntil(
          page,
          "the 409 problem",
          () => {
            const e = document.querySelector('[data-testid="error"]');
            return !e.hidden && e.textContent.includes("409") && e.textContent.includes("24 hours");
          },
          undefined,
          describe,
        );
      },
    ],
    [
      '"Sync now" syncs the feed',
      async () => {
        await page.getByTestId("sync").click();
        await waitUntil(
          page,
          "the sync message",
          () => {
            const m = document.querySelector('[data-testid="message"]');
            return !m.hidden && m.textContent.includes("Synced: 60 items");
          },
          undefined,
          describe,
        );
        assert(await page.getByTestId("error").isHidden(), "the earlier error should be cleared");
      },
    ],
    [
      '"Re-authorize" completes the sandbox OAuth round trip',
      async () => {
        const opened = context.waitForEvent("page", { timeout: TIMEOUT });
        await page.getByTestId("reauth").click();
        const popup = await opened;
        await popup.waitForURL(/\/oauth\/callback\?code=/, { timeout: TIMEOUT });
        await popup.locator("h1", { hasText: "Instagram connected" }).waitFor({ timeout: TIMEOUT });
        await popup.screenshot({ path: path.join(OUT, "oauth-callback.png"), fullPage: true });
        await popup.close();
        await waitUntil(
          page,
          "a valid token obtained after the previous one",
          ({ before }) => {
            const q = (id) => document.querySelector(`[data-testid="${id}"]`);
            const obtained = q("token-obtained-at").getAttribute("datetime");
            return (
              q("token-state").textContent === "valid" &&
              obtained !== null &&
              Date.parse(obtained) > Date.parse(before) &&
              !q("message").hidden &&
              q("message").textContent.includes("Instagram connected")
            );
          },
          { before: obtainedBefore },
          describe,
        );
        const status = await getJson(`${service}/admin/status`, { Authorization: `Bearer ${ADMIN_TOKEN}` });
        assertEqual(
          await page.getByTestId("token-obtained-at").getAttribute("datetime"),
          status.token.obtained_at,
          "the page's obtained_at against /admin/status",
        );
        await page.screenshot({ path: path.join(OUT, "admin.png"), fullPage: true });
      },
    ],
    ...accountSteps(page, context, service, describe),
    ...curationSteps(page, service, describe),
    [
      "the token survives a reload of the tab and can be forgotten",
      async () => {
        await page.reload();
        await waitUntil(
          page,
          "the status without asking for the token again",
          () => document.querySelector('[data-testid="token-state"]').textContent === "valid",
          undefined,
          describe,
        );
        await page.getByTestId("forget").click();
        await page.getByTestId("token-form").waitFor({ state: "visible", timeout: TIMEOUT });
        assert(await page.getByTestId("status").isHidden(), "the status should be hidden after Forget");
        assertEqual(await stored(), null, "sessionStorage after Forget");
      },
    ],
    [
      "no CSP violations or uncaught script errors",
      async () => assertEqual(errors, [], "errors on the operator page"),
    ],
  ]);
  await page.close();
}

// The operator page's Accounts card (#10): the sandbox's three accounts, adding one, connecting
// it (refused while its Instagram user is another slug's, then as a freed user), syncing and
// removing it with the in-page confirmation. Runs inside the operator section, logged in.
function accountSteps(page, context, service, describeStatus) {
  const admin = { Authorization: `Bearer ${ADMIN_TOKEN}` };
  const SANDBOX = { default: "@sandbox.gallery", cafe: "@sandbox.cafe", shop: "@sandbox.shop" };
  const q = (testid) => page.getByTestId(testid);
  const describe = async () => {
    const rows = await page.evaluate(() =>
      [...document.querySelectorAll('[data-testid="accounts-rows"] tr')]
        .map((tr) => {
          const slug = tr.dataset.slug;
          const t = (id) => (tr.querySelector(`[data-testid="${id}-${slug}"]`) || {}).textContent;
          return `${slug}=${t("account-state")}/${t("account-username")}`;
        })
        .join(" "),
    );
    return `accounts [${rows}]; ${await describeStatus()}`;
  };
  const rowState = (slug) =>
    page.evaluate((s) => {
      const e = document.querySelector(`[data-testid="account-state-${s}"]`);
      return e ? e.textContent : null;
    }, slug);
  const errorShows = (description, parts) =>
    waitUntil(
      page,
      description,
      ({ parts }) => {
        const e = document.querySelector('[data-testid="error"]');
        return !e.hidden && parts.every((p) => e.textContent.includes(p));
      },
      { parts },
      describe,
    );
  const messageShows = (description, parts) =>
    waitUntil(
      page,
      description,
      ({ parts }) => {
        const m = document.querySelector('[data-testid="message"]');
        return !m.hidden && parts.every((p) => m.textContent.includes(p));
      },
      { parts },
      describe,
    );
  // The two-step removal: "Remove" arms the row's confirmation, "Yes" deletes.
  const removeRow = async (slug) => {
    await q(`account-remove-${slug}`).click();
    await q(`account-remove-confirmation-${slug}`).waitFor({ state: "visible" });
    assert(await q(`account-remove-${slug}`).isHidden(), "the Remove button is replaced by the confirmation");
    const answered = page.waitForResponse(
      (r) => r.url() === `${service}/admin/accounts/${slug}` && r.request().method() === "DELETE",
    );
    await q(`account-remove-confirm-${slug}`).click();
    assertEqual((await answered).status(), 204, `DELETE /admin/accounts/${slug}`);
    await q(`account-row-${slug}`).waitFor({ state: "detached" });
    const res = await fetch(`${service}/admin/accounts/${slug}`, { headers: admin });
    assertEqual(res.status, 404, `GET /admin/accounts/${slug} after the removal`);
  };

  return [
    [
      "the Accounts card lists the three sandbox accounts, valid, with their usernames",
      async () => {
        await waitUntil(
          page,
          "rows for default, cafe and shop, all valid",
          () =>
            ["default", "cafe", "shop"].every(
              (s) => document.querySelector(`[data-testid="account-state-${s}"]`)?.textContent === "valid",
            ),
          undefined,
          describe,
        );
        const api = await getJson(`${service}/admin/accounts`, admin);
        for (const [slug, username] of Object.entries(SANDBOX)) {
          assertEqual(await q(`account-username-${slug}`).textContent(), username, `${slug}'s username`);
          const account = api.accounts.find((a) => a.slug === slug);
          assertEqual(await q(`account-items-${slug}`).textContent(), String(account.feed.items), `${slug}'s items`);
          assertEqual(await q(`account-state-${slug}`).getAttribute("class"), "state state-valid", `${slug}'s badge`);
          assert(await q(`account-expires-${slug}`).getAttribute("datetime"), `${slug}'s expiry should be shown`);
          assert(await q(`account-synced-${slug}`).getAttribute("datetime"), `${slug}'s last sync should be shown`);
          assertEqual(await q(`account-connect-${slug}`).textContent(), "Re-connect", `${slug}'s connect button`);
          assertEqual(await q(`account-default-${slug}`).isVisible(), slug === "default", `${slug} marked default`);
          assertEqual(
            await q(`account-remove-${slug}`).textContent(),
            slug === "default" ? "Empty" : "Remove",
            `${slug}'s remove button`,
          );
        }
        assertEqual(await q("default-slug").textContent(), "default", "the default account's heading");
        // The sandbox's Facebook Login account `tags` (public hashtag search) is the fourth.
        assertEqual(await q("accounts-count").textContent(), `4 of at most ${api.max}`, "the count");
        assertEqual(await q("account-username-tags").textContent(), "@sandbox.tags", "tags's username");
        assert(await q("account-login-tags").isVisible(), "tags should be marked Facebook Login");
        assert(!(await q("account-login-cafe").isVisible()), "cafe uses Instagram Login");
        const headers = await page.locator('[data-testid="accounts-table"] thead th[scope="col"]').allTextContents();
        assertEqual(headers.slice(0, 3), ["Account", "Instagram", "Token"], "the first column headers");
      },
    ],
    [
      "an invalid slug and a taken slug are shown in the error area",
      async () => {
        await q("account-slug").fill("Bad_Slug");
        assert(
          await q("account-slug").evaluate((e) => e.validity.patternMismatch),
          "the slug input's pattern should refuse Bad_Slug",
        );
        await q("account-add").click();
        await errorShows("the invalid slug message", ["`Bad_Slug` is not a valid account slug"]);
        assertEqual(await q("account-slug").getAttribute("aria-invalid"), "true", "aria-invalid");
        await q("account-slug").fill("cafe");
        const answered = page.waitForResponse((r) => r.url() === `${service}/admin/accounts` && r.request().method() === "POST");
        await q("account-add").click();
        assertEqual((await answered).status(), 409, "POST /admin/accounts {slug: cafe}");
        await errorShows("the account_exists problem", ["Account exists (HTTP 409)", "the account `cafe` already exists"]);
      },
    ],
    [
      'adding "popup" shows a new row with state missing',
      async () => {
        await q("account-slug").fill("popup");
        await q("account-label").fill("Pop-up store");
        const answered = page.waitForResponse((r) => r.url() === `${service}/admin/accounts` && r.request().method() === "POST");
        await q("account-add").click();
        assertEqual((await answered).status(), 201, "POST /admin/accounts {slug: popup}");
        await messageShows("the added message", ["Added the account popup"]);
        await q("account-row-popup").waitFor({ state: "visible" });
        assertEqual(await rowState("popup"), "missing", "popup's state");
        assertEqual(await q("account-label-popup").textContent(), "Pop-up store", "popup's label");
        assertEqual(await q("account-connect-popup").textContent(), "Connect", "popup's connect button");
        assert(await q("account-sync-popup").isDisabled(), "Sync is disabled until popup is connected");
        assert(await q("error").isHidden(), "the earlier error should be cleared");
        assertEqual(await q("account-slug").inputValue(), "", "the form is reset");
        const order = await page.evaluate(() =>
          [...document.querySelectorAll('[data-testid="accounts-rows"] tr')].map((tr) => tr.dataset.slug),
        );
        assertEqual(order, ["cafe", "default", "popup", "shop", "tags"], "rows by slug");
      },
    ],
    [
      "Connect on popup gives an authorize link; @sandbox.gallery is refused with the conflict shown",
      async () => {
        const opened = context.waitForEvent("page", { timeout: TIMEOUT });
        await q("account-connect-popup").click();
        const popup = await opened;
        await popup.waitForURL(/\/oauth\/callback\?code=/, { timeout: TIMEOUT });
        const link = await q("reauth-link").getAttribute("href");
        assert(
          link && link.startsWith(`${service}/sandbox/oauth/authorize?`) && /[?&]state=[^&]+/.test(link),
          `the authorize link: ${link}`,
        );
        await errorShows("the account_conflict problem", [
          "Connecting popup failed",
          "Instagram account already connected (HTTP 409)",
          "@sandbox.gallery is already connected as `default`",
        ]);
        assert(await q("reauth-pending").isHidden(), "no more waiting after the refusal");
        assertEqual(await rowState("popup"), "missing", "popup's state after the refusal");
        const shown = await popup.evaluate(() => document.body.textContent);
        assert(shown.includes("account_conflict"), `the callback window shows the problem: ${shown.slice(0, 200)}`);
        await popup.close();
        await page.screenshot({ path: path.join(OUT, "admin-accounts-conflict.png"), fullPage: true });
      },
    ],
    [
      "Remove asks in the page first; removing shop frees @sandbox.shop",
      async () => {
        await q("account-remove-shop").click();
        await q("account-remove-confirmation-shop").waitFor({ state: "visible" });
        assert(
          (await q("account-remove-confirmation-shop").textContent()).includes("Remove shop"),
          "the confirmation names the account",
        );
        await q("account-remove-cancel-shop").click();
        await q("account-remove-shop").waitFor({ state: "visible" });
        assert(await q("account-remove-confirmation-shop").isHidden(), "Cancel hides the confirmation");
        assertEqual(await rowState("shop"), "valid", "shop is kept after Cancel");
        await removeRow("shop");
        await messageShows("the removed message", ["Removed the account shop"]);
      },
    ],
    [
      "Connect on popup as @sandbox.shop (sandbox_user) turns the row valid",
      async () => {
        // The sandbox logs in as the user `sandbox_user` names; add it to the page's link.
        const pattern = `${service}/sandbox/oauth/authorize?**`;
        await context.route(pattern, (route) =>
          route.continue({ url: `${route.request().url()}&sandbox_user=sandbox.shop` }),
        );
        try {
          const opened = context.waitForEvent("page", { timeout: TIMEOUT });
          await q("account-connect-popup").click();
          const popup = await opened;
          await popup.locator("h1", { hasText: "Instagram connected" }).waitFor({ timeout: TIMEOUT });
          await popup.close();
        } finally {
          await context.unroute(pattern);
        }
        await waitUntil(
          page,
          "popup valid as @sandbox.shop",
          () => {
            const q = (id) => document.querySelector(`[data-testid="${id}"]`);
            return (
              q("account-state-popup")?.textContent === "valid" &&
              q("account-username-popup").textContent === "@sandbox.shop" &&
              !q("message").hidden &&
              q("message").textContent.includes("Instagram connected to popup: @sandbox.shop")
            );
          },
          undefined,
          describe,
        );
        assertEqual(await q("account-connect-popup").textContent(), "Re-connect", "popup's connect button");
        assert(await q("error").isHidden(), "the conflict message should be cleared");
        const api = await getJson(`${service}/admin/accounts/popup`, admin);
        assertEqual(api.token.username, "sandbox.shop", "GET /admin/accounts/popup");
      },
    ],
    [
      "Sync on popup syncs its feed",
      async () => {
        await q("account-sync-popup").waitFor({ state: "visible" });
        await waitUntil(
          page,
          "Sync enabled",
          () => !document.querySelector('[data-testid="account-sync-popup"]').disabled,
          undefined,
          describe,
        );
        const answered = page.waitForResponse(
          (r) => r.url() === `${service}/admin/accounts/popup/sync` && r.request().method() === "POST",
        );
        await q("account-sync-popup").click();
        const response = await answered;
        assertEqual(response.status(), 200, "POST /admin/accounts/popup/sync");
        const items = (await response.json()).feed.items;
        assert(items > 0, `popup's items: ${items}`);
        await messageShows("the sync message", [`Synced popup: ${items} items`]);
        await waitUntil(
          page,
          "the row's items",
          ({ n }) => document.querySelector('[data-testid="account-items-popup"]').textContent === String(n),
          { n: items },
          describe,
        );
        await page.screenshot({ path: path.join(OUT, "admin-accounts.png"), fullPage: true });
        // A narrow screen: the rows become stacked cards, nothing wider than the viewport.
        await page.setViewportSize({ width: 390, height: 844 });
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        await q("accounts").screenshot({ path: path.join(OUT, "admin-accounts-narrow.png") });
        await page.setViewportSize({ width: 1280, height: 900 });
        assert(overflow <= 0, `the page is ${overflow}px wider than a 390px screen`);
      },
    ],
    [
      "Remove on popup removes its row",
      async () => {
        await removeRow("popup");
        await messageShows("the removed message", ["Removed the account popup"]);
        assertEqual(await q("accounts-count").textContent(), `3 of at most 100`, "the count");
        assert(await q("error").isHidden(), "no error after the removal");
      },
    ],
  ];
}

// The operator page's Curation card (#12): the default account's posts with their state,
// hiding, pinning and filtering them, each checked against the public /images, and another
// account's posts. Runs inside the operator section, logged in.
function curationSteps(page, service, describeStatus) {
  const admin = { Authorization: `Bearer ${ADMIN_TOKEN}` };
  const q = (testid) => page.getByTestId(testid);
  const feedIds = async (slug) => {
    const path = slug === "default" ? "/images" : `/accounts/${slug}/images`;
    const body = await getJson(`${service}${path}?limit=100`);
    return body.data.map((m) => m.id);
  };
  const badges = (id) => q(`post-state-${id}`).textContent();
  const describe = async () => {
    const posts = await page.evaluate(() =>
      [...document.querySelectorAll('[data-testid="curation-posts"] li')]
        .slice(0, 6)
        .map((li) => `${li.dataset.id}:${li.querySelector(".badges").textContent || "-"}`)
        .join(" "),
    );
    return `posts [${posts}]; ${await describeStatus()}`;
  };
  const waitBadges = (id, text) =>
    waitUntil(
      page,
      `post ${id}'s badges to read "${text}"`,
      ({ id, text }) => document.querySelector(`[data-testid="post-state-${id}"]`)?.textContent === text,
      { id, text },
      describe,
    );
  const answered = (method, pathEnd) =>
    page.waitForResponse((r) => r.request().method() === method && r.url().endsWith(pathEnd));

  return [
    [
      "the Curation card lists every synced post of the default account, all shown",
      async () => {
        const api = await getJson(`${service}/admin/accounts/default/posts`, admin);
        assert(api.data.length >= 6, `the sandbox has posts to curate: ${api.data.length}`);
        await waitUntil(
          page,
          "one item per synced post",
          ({ n }) => document.querySelectorAll('[data-testid="curation-posts"] li').length === n,
          { n: api.data.length },
          describe,
        );
        assertEqual(await q("curation-account").inputValue(), "default", "the selected account");
        const listed = await page.evaluate(() =>
          [...document.querySelectorAll('[data-testid="curation-posts"] li')].map((li) => li.dataset.id),
        );
        assertEqual(listed, api.data.map((p) => p.id), "the posts, newest first");
        assertEqual(await badges(api.data[0].id), "", "no badge on a shown post");
        assertEqual(await q(`post-hide-${api.data[0].id}`).textContent(), "Hide", "the Hide button");
        assertEqual(await q(`post-pin-${api.data[0].id}`).textContent(), "Pin", "the Pin button");
        // Same-origin thumbnails (re-hosted, or the sandbox CDN) load under the page's CSP.
        await q(`post-${api.data[0].id}`).scrollIntoViewIfNeeded();
        await waitUntil(
          page,
          "the first post's thumbnail to load",
          () => {
            const img = document.querySelector('[data-testid="curation-posts"] li img');
            return Boolean(img && img.complete && img.naturalWidth > 0);
          },
          undefined,
          describe,
        );
      },
    ],
    [
      "Hide takes a post out of /images; Show brings it back",
      async () => {
        const [first] = await feedIds("default");
        let done = answered("PUT", `/admin/accounts/default/hidden/${first}`);
        await q(`post-hide-${first}`).click();
        assertEqual((await done).status(), 204, "PUT hidden");
        await waitBadges(first, "Hidden");
        assertEqual(await q(`post-hide-${first}`).textContent(), "Show", "the button after hiding");
        assert(!(await feedIds("default")).includes(first), `${first} should have left /images`);
        done = answered("DELETE", `/admin/accounts/default/hidden/${first}`);
        await q(`post-hide-${first}`).click();
        assertEqual((await done).status(), 204, "DELETE hidden");
        await waitBadges(first, "");
        assertEqual((await feedIds("default"))[0], first, "shown again, first");
      },
    ],
    [
      "Pin makes a post lead /images; Unpin restores the order",
      async () => {
        const before = await feedIds("default");
        const third = before[2];
        const done = answered("PUT", "/admin/accounts/default/pinned");
        await q(`post-pin-${third}`).click();
        assertEqual((await done).status(), 200, "PUT pinned");
        await waitBadges(third, "Pinned 1");
        assertEqual(await q(`post-pin-${third}`).textContent(), "Unpin", "the button after pinning");
        assertEqual((await feedIds("default"))[0], third, "the pinned post leads /images");
        await q(`post-pin-${third}`).click();
        await waitBadges(third, "");
        assertEqual(await feedIds("default"), before, "the order after unpinning");
      },
    ],
    [
      "a caption filter marks posts Filtered out and leaves them out of /images",
      async () => {
        const body = await getJson(`${service}/images?limit=100`);
        const tagged = body.data.find((m) => m.hashtags.length > 0);
        assert(tagged, "a sandbox post with a hashtag");
        const tag = `#${tagged.hashtags[0]}`;
        const dropped = body.data.filter((m) => m.hashtags.includes(tagged.hashtags[0])).map((m) => m.id);
        await q("filter-excludes").fill(`${tag}, `);
        const done = answered("PUT", "/admin/accounts/default/filters");
        await q("filters-save").click();
        assertEqual((await done).status(), 200, "PUT filters");
        await waitBadges(tagged.id, "Filtered out");
        const shown = await feedIds("default");
        assertEqual(shown.filter((id) => dropped.includes(id)), [], `posts with ${tag} in /images`);
        assertEqual(shown.length, body.data.length - dropped.length, "what /images still shows");
        const message = await q("message").textContent();
        assert(message.includes(`shows ${shown.length} of`), `the message: ${message}`);
        await q("filter-excludes").fill("");
        await q("filters-save").click();
        await waitBadges(tagged.id, "");
        assertEqual((await feedIds("default")).length, body.data.length, "every post after clearing the filter");
      },
    ],
    [
      "choosing another account shows its posts",
      async () => {
        await q("curation-account").selectOption("cafe");
        const api = await getJson(`${service}/admin/accounts/cafe/posts`, admin);
        await waitUntil(
          page,
          "the cafe's posts",
          ({ first }) =>
            document.querySelector('[data-testid="curation-posts"] li')?.dataset.id === first,
          { first: api.data[0].id },
          describe,
        );
        await q("curation").scrollIntoViewIfNeeded();
        await waitUntil(
          page,
          "the cafe's first thumbnails to load",
          () =>
            [...document.querySelectorAll('[data-testid="curation-posts"] li img')]
              .slice(0, 6)
              .every((img) => img.complete && img.naturalWidth > 0),
          undefined,
          describe,
        );
        await q("curation").screenshot({ path: path.join(OUT, "admin-curation.png") });
        await q("curation-account").selectOption("default");
      },
    ],
  ];
}

// ---- /docs ----------------------------------------------------------------------------------

async function docsTests(context, service) {
  const page = await context.newPage();
  await section("docs", page, [
    [
      "/docs renders the operations list",
      async () => {
        await page.goto(`${service}/docs`);
        assertEqual(page.url(), `${service}/docs/`, "the page's URL");
        const expected = ["/images", "/search", "/admin/reauth", "/admin/status"];
        await waitUntil(
          page,
          `Swagger UI listing ${expected.join(", ")}`,
          ({ paths }) => {
            const shown = [...document.querySelectorAll(".opblock-summary-path")].map(
              (e) => e.getAttribute("data-path") || e.textContent.trim(),
            );
            return paths.every((p) => shown.includes(p));
          },
          { paths: expected },
          () =>
            page.evaluate(() =>
              [...document.querySelectorAll(".opblock-summary-path")]
                .map((e) => e.getAttribute("data-path") || e.textContent.trim())
                .join(", ") || document.body.innerText.slice(0, 300),
            ),
        );
        const listed = await page.evaluate(() =>
          [...document.querySelectorAll(".opblock-summary-path")].map((e) => e.getAttribute("data-path") || e.textContent.trim()),
        );
        assert(!listed.includes("/admin/"), "the operator page must not be in the OpenAPI document");
        await page.screenshot({ path: path.join(OUT, "docs.png"), fullPage: true });
      },
    ],
  ]);
  await page.close();
}

// ---- main -----------------------------------------------------------------------------------

async function main() {
  await mkdir(OUT, { recursive: true });
  try {
    await access(CHROMIUM, fsConstants.X_OK);
  } catch {
    throw new Error(`Chromium not found at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM)`);
  }
  const service = await startService();
  await waitForFeed(service);
  const gallery = await serveGallery();
  console.log(`service ${service}, gallery ${gallery}, browser ${CHROMIUM}`);

  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    timeout: STARTUP_TIMEOUT,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  cleanups.push(() => browser.close());
  console.log(`chromium ${browser.version()}`);
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  context.setDefaultTimeout(TIMEOUT);
  context.setDefaultNavigationTimeout(TIMEOUT);

  await galleryTests(context, service, gallery);
  await operatorTests(context, service);
  await docsTests(context, service);
  await context.close();
}

let status = 0;
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    console.error(`\n${signal}: stopping`);
    cleanup().finally(() => process.exit(130));
  });
}
try {
  await main();
} catch (err) {
  console.error(`error: ${err && err.message}`);
  results.failed += 1;
} finally {
  await cleanup();
}
console.log(`screenshots: ${path.relative(ROOT, OUT)}/`);
console.log(`${results.passed} passed, ${results.failed} failed, ${results.skipped} skipped`);
if (results.failed > 0) status = 1;
process.exit(status);
