// Kiosk service worker: keeps the blank kiosk pages (start, rating forms, thank-you) so the
// kiosk keeps working when the network drops. Only GET pages are kept — never answers; the
// pages are fetched from the network first whenever it is there.
"use strict";
var CACHE = "hailong-kiosk-v1";

self.addEventListener("install", function () { self.skipWaiting(); });
self.addEventListener("activate", function (event) { event.waitUntil(self.clients.claim()); });

self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) { return; }
  var page = url.pathname.indexOf("/kiosk/") === 0 && !url.searchParams.has("device") && !url.searchParams.has("receipt");
  var asset = url.pathname.indexOf("/static/") === 0;
  if (!page && !asset) { return; }
  var key = page ? url.origin + url.pathname : request.url;
  event.respondWith(fetch(request).then(function (response) {
    if (response.ok && !response.redirected && !response.headers.get("X-Kiosk-Private")) {
      var copy = response.clone();
      caches.open(CACHE).then(function (cache) { cache.put(key, copy); });
    }
    return response;
  })["catch"](function () {
    return caches.match(key).then(function (hit) { return hit || Response.error(); });
  }));
});
