// Desk display service worker: the display pages and their assets, network first, the last
// good copy when the network is down. Only GET requests of this site are touched.
"use strict";
var CACHE = "hailong-desk-v1";

self.addEventListener("install", function () { self.skipWaiting(); });
self.addEventListener("activate", function (event) { event.waitUntil(self.clients.claim()); });

self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) { return; }
  var page = url.pathname.indexOf("/portal/desk/") === 0 && !/\/version$/.test(url.pathname);
  var asset = url.pathname.indexOf("/static/") === 0;
  if (!page && !asset) { return; }
  var key = page ? url.origin + url.pathname : request.url;
  event.respondWith(fetch(request).then(function (response) {
    if (response.ok && !response.redirected) {
      var copy = response.clone();
      caches.open(CACHE).then(function (cache) { cache.put(key, copy); });
    }
    return response;
  })["catch"](function () {
    return caches.match(key).then(function (hit) { return hit || Response.error(); });
  }));
});
