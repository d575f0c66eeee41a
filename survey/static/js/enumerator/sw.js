// Service worker of the enumerator app: keeps the app shell so the app opens with no network.
// Pages: network first, then the cached copy. Scripts and styles: cached copy first, refreshed
// in the background. The API is never cached here: data live in IndexedDB.
"use strict";
var CACHE = "hailong-enumerator-v2";
var SCOPE = self.registration.scope;
var SHELL = [
  SCOPE,
  "/static/css/app.css",
  "/static/js/enumerator/enumerator.css",
  "/static/js/enumerator/store.js",
  "/static/js/enumerator/walk.js",
  "/static/js/enumerator/app.js"
];

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(CACHE).then(function (cache) {
    return Promise.all(SHELL.map(function (url) {
      return cache.add(new Request(url, { cache: "reload" }))["catch"](function () {});
    })).then(function () {
      return fetch("/static/js/skiplogic.js").then(function (r) { if (r.ok) { return cache.put("/static/js/skiplogic.js", r); } })["catch"](function () {});
    });
  }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) { return k !== CACHE; }).map(function (k) { return caches["delete"](k); }));
  }).then(function () { return self.clients.claim(); }));
});

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") { return; }
  var url = new URL(request.url);
  if (url.origin !== self.location.origin || url.pathname.indexOf("/api/") === 0) { return; }
  if (request.mode === "navigate") {
    event.respondWith(fetch(request).then(function (response) {
      if (response.ok) {
        var copy = response.clone();
        caches.open(CACHE).then(function (cache) { cache.put(SCOPE, copy); });
      }
      return response;
    })["catch"](function () {
      return caches.match(request, { ignoreSearch: true }).then(function (hit) { return hit || caches.match(SCOPE); });
    }));
    return;
  }
  if (url.pathname.indexOf("/static/") === 0) {
    event.respondWith(caches.open(CACHE).then(function (cache) {
      return cache.match(request, { ignoreSearch: true }).then(function (hit) {
        var refresh = fetch(request).then(function (response) {
          if (response.ok) { cache.put(request, response.clone()); }
          return response;
        });
        if (hit) { refresh["catch"](function () {}); return hit; }
        return refresh;
      });
    }));
  }
});
