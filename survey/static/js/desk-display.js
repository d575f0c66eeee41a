// The desk's TV: one service after another, a reload every few minutes, and the last copy kept
// by the service worker (offline-sw.js) so the screen stays filled when the network drops.
"use strict";
(function () {
  var body = document.body;
  var slides = Array.prototype.slice.call(document.querySelectorAll(".slide"));
  var rotate = parseInt(body.getAttribute("data-rotate-seconds"), 10) || 15;
  var reload = parseInt(body.getAttribute("data-reload-seconds"), 10) || 600;
  var status = document.querySelector(".desk-status");
  var current = 0;

  function show(n) {
    slides.forEach(function (slide, i) { slide.hidden = i !== n; });
  }
  if (slides.length > 0) {
    show(0);
    body.classList.add("rotating");
    if (slides.length > 1) {
      window.setInterval(function () { current = (current + 1) % slides.length; show(current); }, rotate * 1000);
    }
  }

  if ("serviceWorker" in navigator && body.getAttribute("data-sw")) {
    navigator.serviceWorker.register(body.getAttribute("data-sw")).catch(function () { /* works without */ });
  }

  function online(yes) {
    if (!status) { return; }
    status.textContent = yes ? "" : status.getAttribute("data-offline-text");
  }
  // Ask the server what it would show; reload only when that changed and the server answered,
  // so a TV never ends on an error page (offline, the service worker serves the last copy).
  window.setInterval(function () {
    fetch(body.getAttribute("data-version-url"), { cache: "no-store" }).then(function (r) {
      if (!r.ok) { throw new Error(String(r.status)); }
      return r.json();
    }).then(function (data) {
      online(true);
      if (data.version !== body.getAttribute("data-version")) { location.reload(); }
    })["catch"](function () { online(false); });
  }, reload * 1000);
  window.addEventListener("offline", function () { online(false); });
})();
