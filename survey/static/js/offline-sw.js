// The one service worker of the kiosk and of the desk display: their pages and assets, network
// first, the last good copy when the network drops. Only GET requests of this site are touched,
// never answers. What it keeps is set by the server that serves this file (survey/collect/serviceworker.py
// puts `self.HAILONG_SW = {cache, pages, skipParams, skipSuffixes}` in front of it):
//   cache       - the Cache Storage name (a new name drops the old copies),
//   pages       - the path prefix of the pages kept,
//   skipParams  - query parameters that make a page one-off (a device or receipt address),
//   skipSuffixes- path endings never kept (a version probe).
// A response marked X-Kiosk-Private (a thank-you screen showing a citizen's case code) is never kept.
"use strict";
var CONFIG = self.HAILONG_SW;

self.addEventListener("install", function () { self.skipWaiting(); });
self.addEventListener("activate", function (event) { event.waitUntil(self.clients.claim()); });

function keptPage(url) {
  if (url.pathname.indexOf(CONFIG.pages) !== 0) { return false; }
  if (CONFIG.skipParams.some(function (name) { return url.searchParams.has(name); })) { return false; }
  return !CONFIG.skipSuffixes.some(function (end) {
    return url.pathname.slice(-end.length) === end;
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) { return; }
  var page = keptPage(url);
  var asset = url.pathname.indexOf("/static/") === 0;
  if (!page && !asset) { return; }
  var key = page ? url.origin + url.pathname : request.url;
  event.respondWith(fetch(request).then(function (response) {
    if (response.ok && !response.redirected && !response.headers.get("X-Kiosk-Private")) {
      var copy = response.clone();
      caches.open(CONFIG.cache).then(function (cache) { cache.put(key, copy); });
    }
    return response;
  })["catch"](function () {
    return caches.match(key).then(function (hit) { return hit || Response.error(); });
  }));
});
