// Kiosk behaviour: return to the start screen after the thank-you pause and after idle time,
// replacing the history entry so the previous citizen's pages cannot be reached with "back".
// Ratings are sent in the background with an id made here; when the network is down they wait
// in IndexedDB and are re-sent (same id, so stored exactly once) when it returns.
(function () {
  "use strict";
  var body = document.body;
  var startUrl = body.getAttribute("data-start-url");
  function goStart() { window.location.replace(startUrl); }

  // ---- Offline queue (IndexedDB) -----------------------------------------------------------
  var dbPromise = null;
  function db() {
    if (!dbPromise) {
      dbPromise = new Promise(function (resolve, reject) {
        var req = indexedDB.open("hailong-kiosk", 1);
        req.onupgradeneeded = function () { req.result.createObjectStore("outbox", { keyPath: "id" }); };
        req.onsuccess = function () { resolve(req.result); };
        req.onerror = function () { reject(req.error); };
      });
    }
    return dbPromise;
  }
  function tx(mode, work) {
    return db().then(function (d) {
      return new Promise(function (resolve, reject) {
        var t = d.transaction("outbox", mode);
        var out = work(t.objectStore("outbox"));
        t.oncomplete = function () { resolve(out && out.result); };
        t.onerror = function () { reject(t.error); };
      });
    });
  }
  function queue(item) { return tx("readwrite", function (s) { s.put(item); }); }
  function queued() { return tx("readonly", function (s) { return s.getAll(); }); }
  function drop(id) { return tx("readwrite", function (s) { s["delete"](id); }); }

  function post(item) {
    return fetch(item.url, {
      method: "POST", credentials: "same-origin", body: item.body,
      headers: { "Accept": "application/json", "Content-Type": "application/x-www-form-urlencoded" }
    });
  }

  var delay = 5000;
  var timer = null;
  function flush() {
    if (timer) { clearTimeout(timer); timer = null; }
    return queued().then(function (items) {
      return items.reduce(function (chain, item) {
        return chain.then(function () {
          return post(item).then(function (r) {
            // Stored, already stored, or refused for good (conflict, invalid): never re-send.
            if (r.status < 500 && r.status !== 429 && r.status !== 403) { return drop(item.id); }
            throw new Error("HTTP " + r.status);
          });
        });
      }, Promise.resolve()).then(function () { delay = 5000; });
    })["catch"](function () {
      timer = setTimeout(flush, delay);
      delay = Math.min(delay * 2, 300000);
    }).then(showQueue);
  }
  function showQueue() {
    var status = document.getElementById("queue-status");
    if (!status) { return; }
    queued().then(function (items) {
      status.hidden = items.length === 0;
      status.textContent = status.getAttribute("data-template").replace("{n}", items.length);
    });
  }
  window.addEventListener("online", function () { delay = 5000; flush(); });
  if (window.indexedDB) { flush(); }

  if ("serviceWorker" in navigator && body.getAttribute("data-sw")) {
    navigator.serviceWorker.register(body.getAttribute("data-sw"), { scope: "/kiosk/" })["catch"](function () {});
  }

  // On the start screen, fetch the rating pages once so they can open without a network.
  if (body.hasAttribute("data-start-screen") && navigator.onLine) {
    Array.prototype.forEach.call(document.querySelectorAll(".service-button"), function (a) {
      fetch(a.href, { credentials: "same-origin" })["catch"](function () {});
    });
    fetch(startUrl.replace(/\/?$/, "/thanks"), { credentials: "same-origin" })["catch"](function () {});
  }

  // ---- Rating form ----------------------------------------------------------------------------
  function uuid4() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  var form = document.getElementById("kiosk-form");
  if (form) {
    // A fresh id per citizen, even when this page came from the offline cache.
    form.elements.submission_id.value = uuid4();

    Array.prototype.forEach.call(document.querySelectorAll(".keypad"), function (pad) {
      var input = document.getElementById(pad.getAttribute("data-for"));
      pad.addEventListener("click", function (event) {
        var key = event.target.closest ? event.target.closest("[data-key]") : null;
        if (!key || !input) { return; }
        var k = key.getAttribute("data-key");
        if (k === "back") { input.value = input.value.slice(0, -1); }
        else if (k === "clear") { input.value = ""; }
        else { input.value += k; }
        input.dispatchEvent(new Event("input", { bubbles: true }));
      });
    });

    var clientCheck = function () {
      var ok = true;
      Array.prototype.forEach.call(form.querySelectorAll("fieldset.question"), function (set) {
        var required = set.querySelector("legend .required");
        if (!set.hidden && required && !set.querySelector("input:checked")) { ok = false; set.classList.add("has-error"); }
        else { set.classList.remove("has-error"); }
      });
      var dossier = form.getAttribute("data-dossier-field");
      if (dossier && form.elements[dossier] && form.elements[dossier].value &&
          !/^[0-9A-Za-z.\-\/]{4,40}$/.test(form.elements[dossier].value.trim())) { ok = false; }
      return ok;
    };

    var sending = false;
    form.addEventListener("submit", function (event) {
      if (!window.fetch || !window.indexedDB || sending) { return; }
      event.preventDefault();
      sending = true;
      form.elements.submitted_at.value = new Date().toISOString();
      var item = { id: form.elements.submission_id.value, url: form.action || window.location.href,
        body: new URLSearchParams(new FormData(form)).toString() };
      post(item).then(function (r) {
        if (r.status === 201) {
          return r.json().then(function (data) { window.location.replace(data.redirect); });
        }
        if (r.status >= 500 || r.status === 429) { throw new Error("HTTP " + r.status); }
        form.submit();  // let the server show its messages (wrong answers, dossier already rated)
      })["catch"](function () {
        if (!clientCheck()) {
          sending = false;
          document.getElementById("client-error").hidden = false;
          return;
        }
        queue(item).then(function () {
          form.reset();
          document.getElementById("rate-screen").hidden = true;
          document.getElementById("offline-thanks").hidden = false;
          window.setTimeout(goStart, parseInt(body.getAttribute("data-idle-seconds") || "8", 10) > 8 ? 8000 : 4000);
        });
      });
    });
  }

  var returnSeconds = parseInt(body.getAttribute("data-return-seconds") || "0", 10);
  if (returnSeconds > 0) {
    window.history.replaceState(null, "", window.location.href);
    window.setTimeout(goStart, returnSeconds * 1000);
  }

  if (body.hasAttribute("data-idle-reset")) {
    var idleSeconds = parseInt(body.getAttribute("data-idle-seconds") || "60", 10);
    var idle = null;
    var arm = function () {
      if (idle) { window.clearTimeout(idle); }
      idle = window.setTimeout(function () {
        if (form) { form.reset(); }
        goStart();
      }, idleSeconds * 1000);
    };
    ["pointerdown", "keydown", "input", "touchstart"].forEach(function (name) {
      document.addEventListener(name, arm, { passive: true });
    });
    arm();
  }

  // Pages restored from the back/forward cache must not show old answers.
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) { goStart(); }
  });
})();
