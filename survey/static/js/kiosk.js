// Kiosk behaviour: return to the start screen after the thank-you pause and after idle time,
// replacing the history entry so the previous citizen's pages cannot be reached with "back".
// Ratings are sent in the background with an id made here; when the network is down they wait
// in IndexedDB and are re-sent (same id, so stored exactly once) when it returns. Each queued
// rating has its own fate: sent (dropped), refused for good by the server (moved to the "could
// not be sent" list shown to staff on the start screen, with the server's reason), or failed for
// now (network, 5xx, 429: retried later with a growing delay) — one bad rating never holds up
// the others.
(function () {
  "use strict";
  var body = document.body;
  var startUrl = body.getAttribute("data-start-url");
  function goStart() { window.location.replace(startUrl); }

  // ---- Binding the tablet to its desk -----------------------------------------------------------
  // The registration address carries the device token in the fragment (#device=…), which is never
  // sent to a server or written to a log; it is posted once in a header and kept in a cookie.
  if (window.location.hash.indexOf("#device=") === 0) {
    var deviceToken = decodeURIComponent(window.location.hash.slice(8));
    window.history.replaceState(null, "", window.location.pathname + window.location.search);
    // Until the server has answered, no rating starts: the page reloads as the desk's kiosk once
    // bound, and a rating begun before would be lost in that reload.
    body.classList.add("binding");
    var progress = document.getElementById("bind-progress");
    if (progress) { progress.hidden = false; }
    var bindFailed = function (message) {
      body.classList.remove("binding");
      if (progress) { progress.hidden = true; }
      var note = document.getElementById("bind-status");
      if (note) { note.textContent = message; note.hidden = false; }
    };
    fetch(startUrl.replace(/\/?$/, "/bind"), {
      method: "POST", credentials: "same-origin",
      headers: { "Accept": "application/json", "X-Device-Token": deviceToken }
    }).then(function (r) {
      return r.json().then(function (data) {
        if (r.ok) { window.location.replace(data.redirect); return; }
        bindFailed(data.error ? data.error.message : ("HTTP " + r.status));
      });
    })["catch"](function () {
      var note = document.getElementById("bind-status");
      bindFailed(note ? note.getAttribute("data-offline") : "");
    });
  }

  // ---- Offline queue (IndexedDB) -----------------------------------------------------------
  var dbPromise = null;
  function db() {
    if (!dbPromise) {
      dbPromise = new Promise(function (resolve, reject) {
        var req = indexedDB.open("hailong-kiosk", 2);
        req.onupgradeneeded = function () {
          var names = req.result.objectStoreNames;
          if (!names.contains("outbox")) { req.result.createObjectStore("outbox", { keyPath: "id" }); }
          if (!names.contains("failed")) { req.result.createObjectStore("failed", { keyPath: "id" }); }
        };
        req.onsuccess = function () { resolve(req.result); };
        req.onerror = function () { reject(req.error); };
      });
    }
    return dbPromise;
  }
  function tx(mode, work, store) {
    return db().then(function (d) {
      return new Promise(function (resolve, reject) {
        var t = d.transaction(store || "outbox", mode);
        var out = work(t.objectStore(store || "outbox"));
        t.oncomplete = function () { resolve(out && out.result); };
        t.onerror = function () { reject(t.error); };
      });
    });
  }
  function queue(item) { return tx("readwrite", function (s) { s.put(item); }); }
  function queued() { return tx("readonly", function (s) { return s.getAll(); }); }
  function drop(id) { return tx("readwrite", function (s) { s["delete"](id); }); }
  function failedItems() { return tx("readonly", function (s) { return s.getAll(); }, "failed"); }
  function giveUp(item, reason) {  // refused for good: keep it, visibly, out of the queue
    return tx("readwrite", function (s) {
      s.put({ id: item.id, url: item.url, body: item.body, reason: reason, at: new Date().toISOString() });
    }, "failed").then(function () { return drop(item.id); });
  }
  function reasonOf(r) {
    return r.json().then(function (data) {
      if (data && data.error && data.error.message) { return data.error.message; }
      var fields = data && data.fields ? Object.keys(data.fields).map(function (k) { return data.fields[k]; }) : [];
      return fields.length ? fields.join(" ") : "HTTP " + r.status;
    }, function () { return "HTTP " + r.status; });
  }
  // Refused for good: the request itself is wrong (a retry would get the same answer).
  function permanent(status) { return status >= 400 && status < 500 && status !== 429 && status !== 403 && status !== 408; }

  function post(item) {
    return fetch(item.url, {
      method: "POST", credentials: "same-origin", body: item.body,
      headers: { "Accept": "application/json", "Content-Type": "application/x-www-form-urlencoded" }
    });
  }

  var FIRST_DELAY = 5000, MAX_DELAY = 300000;
  var timer = null;
  function later(item) {  // failed for now: retry this item alone after a growing delay
    item.attempts = (item.attempts || 0) + 1;
    item.nextAt = Date.now() + Math.min(FIRST_DELAY * Math.pow(2, item.attempts - 1), MAX_DELAY);
    return queue(item);
  }
  function flush() {
    if (timer) { clearTimeout(timer); timer = null; }
    return queued().then(function (items) {
      var now = Date.now();
      return items.reduce(function (chain, item) {
        return chain.then(function () {
          if (item.nextAt && item.nextAt > now) { return; }
          return post(item).then(function (r) {
            if (r.status >= 200 && r.status < 300) { return drop(item.id); }  // stored or already stored
            if (permanent(r.status)) { return reasonOf(r).then(function (why) { return giveUp(item, why); }); }
            return later(item);
          }, function () { return later(item); });
        });
      }, Promise.resolve());
    }).then(queued).then(function (left) {
      if (left.length) {
        var next = Math.min.apply(null, left.map(function (i) { return i.nextAt || Date.now() + FIRST_DELAY; }));
        timer = setTimeout(flush, Math.max(1000, next - Date.now()));
      }
    })["catch"](function () { timer = setTimeout(flush, FIRST_DELAY); }).then(showQueue);
  }
  function showQueue() {
    var status = document.getElementById("queue-status");
    if (status) {
      queued().then(function (items) {
        status.hidden = items.length === 0;
        status.textContent = status.getAttribute("data-template").replace("{n}", items.length);
      });
    }
    var box = document.getElementById("queue-failed");
    if (box) {
      failedItems().then(function (items) {
        box.hidden = items.length === 0;
        box.querySelector("summary").textContent = box.getAttribute("data-template").replace("{n}", items.length);
        var list = box.querySelector("ul");
        list.textContent = "";
        items.forEach(function (i) {
          var li = document.createElement("li");
          li.textContent = new Date(i.at).toLocaleString() + " — " + i.reason;
          list.appendChild(li);
        });
      });
    }
  }
  window.addEventListener("online", function () {
    queued().then(function (items) {  // the network is back: everything may go now
      return Promise.all(items.map(function (i) { i.nextAt = 0; return queue(i); }));
    }).then(flush);
  });
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
        var toggle = event.target.closest ? event.target.closest("[data-toggle]") : null;
        if (toggle) {  // the letter panel: dossier codes may contain letters
          var panel = document.getElementById(toggle.getAttribute("aria-controls"));
          var open = toggle.getAttribute("aria-expanded") !== "true";
          toggle.setAttribute("aria-expanded", open ? "true" : "false");
          if (panel) { panel.hidden = !open; }
          return;
        }
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
        // A citizen is here now: a tablet clock the server finds implausible gives way to the server's.
        if (r.status === 422) { form.elements.submitted_at.value = ""; }
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
