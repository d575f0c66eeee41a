// Hài Lòng enumerator app: offline-first interviews.
// Everything the enumerator does is written to IndexedDB first (HailongStore); the network is
// only used to sign in, to refresh assignments/questionnaires and to send the outbox. Sync runs
// at start, on reconnection, after each finished interview and on a timer with backoff — never
// needing a page refresh. Outbox items are removed only when the server answers "created" or
// "duplicate" for their id.
(function () {
  "use strict";
  var S = window.HailongStore;
  var cfg = JSON.parse(document.getElementById("enumerator-config").textContent);
  var M = cfg.messages;
  var view = document.getElementById("view");
  var syncState = { running: false, again: false, delay: 5000, timer: null, last: null, nextAt: null, failures: {} };
  var MAX_DELAY = 5 * 60 * 1000;

  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register(cfg.sw, { scope: cfg.scope })["catch"](function () {});
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") { node.textContent = attrs[k]; }
      else if (k.slice(0, 2) === "on") { node.addEventListener(k.slice(2), attrs[k]); }
      else if (attrs[k] !== null && attrs[k] !== undefined && attrs[k] !== false) { node.setAttribute(k, attrs[k]); }
    });
    (children || []).forEach(function (c) { if (c) { node.appendChild(c); } });
    return node;
  }
  function fmt(text, values) {
    return text.replace(/%\((\w+)\)s/g, function (_, k) { return values[k]; });
  }
  function uuid4() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }
  function label(text) {
    if (!text) { return ""; }
    return text[cfg.language] || text.vi || text[Object.keys(text)[0]] || "";
  }

  function api(path, options) {
    return S.get("kv", "token").then(function (token) {
      var headers = { "Accept": "application/json", "Accept-Language": cfg.language };
      if (token) { headers.Authorization = "Bearer " + token; }
      if (options && options.body) { headers["Content-Type"] = "application/json"; }
      return fetch(cfg.api + path, {
        method: (options && options.method) || "GET", headers: headers,
        body: options && options.body ? JSON.stringify(options.body) : undefined, cache: "no-store"
      });
    });
  }

  // ---- Sync ---------------------------------------------------------------------------------
  function refreshReference() {
    return api("/v1/assignments").then(function (r) {
      if (r.status === 401) { throw { auth: true }; }
      if (!r.ok) { throw new Error("HTTP " + r.status); }
      return r.json();
    }).then(function (data) {
      var ids = {};
      data.assignments.forEach(function (a) { ids[a.questionnaire.id] = true; });
      return Promise.all(Object.keys(ids).map(function (qid) {
        return api("/v1/questionnaires/" + encodeURIComponent(qid)).then(function (r) {
          if (!r.ok) { throw new Error("HTTP " + r.status); }
          return r.json();
        }).then(function (q) {
          // Every version is kept: open drafts finish on the version they started.
          return S.put("kv", q, "q:" + q.id + "@" + q.version).then(function () {
            return S.put("kv", q.version, "latest:" + q.id);
          });
        });
      })).then(function () { return S.put("kv", data.assignments, "assignments"); });
    });
  }

  function sendOutbox() {
    return S.all("outbox").then(function (items) {
      var pending = items.filter(function (i) { return !i.failed; });
      if (!pending.length) { return; }
      var chunk = pending.slice(0, 200);
      return api("/v1/submissions/batch", { method: "POST", body: { submissions: chunk.map(function (i) { return i.submission; }) } })
        .then(function (r) {
          if (r.status === 401) { throw { auth: true }; }
          if (!r.ok) { throw new Error("HTTP " + r.status); }
          return r.json();
        }).then(function (data) {
          var confirmed = [];
          var updates = [];
          data.results.forEach(function (res, index) {
            var item = chunk[index];
            if (res.status === "created" || res.status === "duplicate") { confirmed.push(item.id); }
            else if (res.http_status === 429 || res.http_status >= 500) { return; }  // for now: stays queued, retried
            else {
              item.failed = res.message + (res.fields ? " " + Object.keys(res.fields).map(function (k) { return k + ": " + res.fields[k]; }).join("; ") : "");
              updates.push(S.put("outbox", item));
            }
          });
          return Promise.all(updates).then(function () { return S.confirm(confirmed); }).then(function () {
            if (pending.length > chunk.length) { return sendOutbox(); }
          });
        });
    });
  }

  function schedule(delay) {
    if (syncState.timer) { clearTimeout(syncState.timer); }
    syncState.nextAt = Date.now() + delay;
    syncState.timer = setTimeout(sync, delay);
  }

  function sync() {
    // A reconnection or a finished interview during a sync is not lost: one more sync follows.
    if (syncState.running) { syncState.again = true; return Promise.resolve(); }
    syncState.running = true;
    syncState.again = false;
    return S.get("kv", "token").then(function (token) {
      if (!token) { return; }
      return sendOutbox().then(refreshReference).then(function () {
        syncState.last = new Date();
        syncState.error = null;
        return S.all("outbox");
      }).then(function (items) {
        // Interviews the server could not take for now (429, 5xx) are retried soon, with a growing
        // delay; with nothing waiting, the next check is in a minute.
        if (items && items.some(function (i) { return !i.failed; })) {
          schedule(syncState.delay);
          syncState.delay = Math.min(syncState.delay * 2, MAX_DELAY);
        } else {
          syncState.delay = 5000;
          schedule(60000);
        }
      });
    })["catch"](function (err) {
      syncState.error = err && err.auth ? M.signInFailed : M.offline;
      if (err && err.auth) { return S.remove("kv", "token").then(render); }
      schedule(syncState.delay);
      syncState.delay = Math.min(syncState.delay * 2, MAX_DELAY);
    }).then(function () {
      syncState.running = false;
      if (syncState.again) { return sync(); }
      return updateStatus();
    }, function () { syncState.running = false; });
  }

  function updateStatus() {
    return Promise.all([S.count("drafts"), S.all("outbox"), S.count("sent")]).then(function (r) {
      var failed = r[1].filter(function (i) { return i.failed; });
      document.getElementById("count-drafts").textContent = r[0];
      document.getElementById("count-queued").textContent = r[1].length - failed.length;
      document.getElementById("count-sent").textContent = r[2];
      document.getElementById("count-failed").textContent = failed.length;
      var list = document.getElementById("failures");
      list.textContent = "";
      failed.forEach(function (i) { list.appendChild(el("li", { text: i.failed })); });
      var info = M.lastSync + ": " + (syncState.last ? syncState.last.toLocaleTimeString() : M.never);
      if (syncState.nextAt && r[1].length - failed.length > 0) {
        info += " · " + fmt(M.nextTry, { s: Math.max(0, Math.round((syncState.nextAt - Date.now()) / 1000)) });
      }
      document.getElementById("sync-info").textContent = info;
      document.getElementById("net-state").textContent = navigator.onLine ? M.online : M.offline;
    });
  }

  window.addEventListener("online", function () { syncState.delay = 5000; sync(); });
  window.addEventListener("offline", updateStatus);
  document.getElementById("sync-now").addEventListener("click", function () { syncState.delay = 5000; sync(); });
  setInterval(updateStatus, 5000);

  // ---- Screens ------------------------------------------------------------------------------
  function show(nodes) {
    view.textContent = "";
    nodes.forEach(function (n) { view.appendChild(n); });
    var heading = view.querySelector("h1");
    if (heading) { heading.setAttribute("tabindex", "-1"); heading.focus(); }
  }

  function signInScreen(message) {
    var user = el("input", { id: "username", type: "text", autocomplete: "username", required: "required" });
    var pass = el("input", { id: "password", type: "password", autocomplete: "current-password", required: "required" });
    var error = el("p", { "class": "form-error", role: "alert", hidden: message ? null : "hidden", text: message || "" });
    var form = el("form", { "class": "narrow", onsubmit: function (e) {
      e.preventDefault();
      fetch(cfg.api + "/v1/auth/token", {
        method: "POST", headers: { "Content-Type": "application/json", "Accept-Language": cfg.language },
        body: JSON.stringify({ username: user.value, password: pass.value, device: navigator.userAgent.slice(0, 150) })
      }).then(function (r) {
        return r.json().then(function (body) {
          if (r.status !== 201) { throw new Error(body.error ? body.error.message : M.signInFailed); }
          return S.put("kv", body.token, "token").then(function () { return S.put("kv", body.user, "user"); });
        });
      }).then(function () { return sync(); }).then(render)["catch"](function (err) {
        error.hidden = false;
        error.textContent = err instanceof TypeError ? M.signInOffline : err.message;
      });
    } }, [
      error,
      el("div", { "class": "question" }, [el("label", { "for": "username", "class": "field-label", text: M.username }), user]),
      el("div", { "class": "question" }, [el("label", { "for": "password", "class": "field-label", text: M.password }), pass]),
      el("button", { type: "submit", "class": "primary", text: M.signIn })
    ]);
    show([el("h1", { text: M.signIn }), form]);
  }

  function homeScreen(note) {
    return Promise.all([S.get("kv", "assignments"), S.all("drafts"), S.all("outbox"), S.get("kv", "user")]).then(function (r) {
      var assignments = r[0] || [];
      var drafts = r[1];
      var local = {};
      r[2].forEach(function (i) { local[i.submission.assignment] = (local[i.submission.assignment] || 0) + 1; });
      var nodes = [el("h1", { text: M.assignments })];
      if (note) { nodes.push(el("p", { "class": "flash", role: "status", text: note })); }
      if (!assignments.length) { nodes.push(el("p", { "class": "empty", text: M.noAssignments })); }
      assignments.forEach(function (a) {
        var mine = drafts.filter(function (d) { return d.assignment === a.id; });
        nodes.push(el("article", { "class": "assignment" }, [
          el("h3", { text: a.unit.name }),
          el("p", { "class": "hint", text: a.unit.path + " · " + a.service.name }),
          el("p", { "class": "progress", text: (a.done + (local[a.id] || 0)) + " / " + a.quota + " " + M.quota }),
          el("div", { "class": "actions" }, [
            el("button", { type: "button", "class": "primary", text: M.newInterview, onclick: function () { consentScreen(a); } })
          ].concat(mine.map(function (d) {
            return el("button", { type: "button", "class": "secondary", text: M.resume + " (" + new Date(d.started_at).toLocaleTimeString() + ")",
              onclick: function () { interviewScreen(d); } });
          })))
        ]));
      });
      nodes.push(el("div", { "class": "actions" }, [el("button", { type: "button", "class": "secondary", text: M.signOut, onclick: function () {
        S.count("outbox").then(function (n) {
          if (n > 0) { window.alert(M.signOutBlocked); return; }
          return S.remove("kv", "token").then(render);
        });
      } })]));
      show(nodes);
    });
  }

  function consentScreen(assignment) {
    show([
      el("h1", { text: M.consentTitle }),
      el("p", { text: assignment.unit.name + " · " + assignment.service.name }),
      el("p", { text: M.consentText }),
      el("div", { "class": "actions" }, [
        el("button", { type: "button", "class": "primary", text: M.consentYes, onclick: function () { startInterview(assignment); } }),
        el("button", { type: "button", "class": "secondary", text: M.consentNo, onclick: function () { homeScreen(M.declined); } })
      ])
    ]);
  }

  function startInterview(assignment) {
    S.get("kv", "latest:" + assignment.questionnaire.id).then(function (version) {
      var draft = {
        id: uuid4(), assignment: assignment.id, questionnaire: assignment.questionnaire.id,
        version: version || assignment.questionnaire.version, answers: {}, started_at: new Date().toISOString(),
        unit: assignment.unit.name, consent: true, gps: null
      };
      if (navigator.geolocation) {
        navigator.geolocation.getCurrentPosition(function (pos) {
          draft.gps = { lat: pos.coords.latitude, lon: pos.coords.longitude, accuracy: pos.coords.accuracy };
          S.put("drafts", draft);
        }, function () {}, { timeout: 10000, maximumAge: 600000 });
      }
      return S.put("drafts", draft).then(function () { interviewScreen(draft); });
    });
  }

  // Which questions apply and what every `calculate` question comes to, as on the server (walk.js).
  function interviewState(q, draft) {
    return window.HailongWalk.walk(q.questions, draft.answers, window.SkipLogic);
  }

  // The same rules as survey/collect/forms.py: required, number ranges, text length, dossier pattern.
  function check(question, value) {
    var o = question.options || {};
    var empty = value === undefined || value === null || value === "" || (Array.isArray(value) && !value.length);
    if (empty) { return question.required ? M.required : null; }
    if (question.type === "integer" || question.type === "decimal") {
      var n = Number(value);
      if (!isFinite(n) || (question.type === "integer" && Math.floor(n) !== n)) { return M.number; }
      if ((o.min !== undefined && o.min !== null && n < o.min) || (o.max !== undefined && o.max !== null && n > o.max)) {
        return fmt(M.range, { low: o.min !== undefined && o.min !== null ? o.min : "…", high: o.max !== undefined && o.max !== null ? o.max : "…" });
      }
    }
    if (question.type === "text" || question.type === "longtext") {
      var limit = o.max_length || 2000;
      if (String(value).length > limit) { return fmt(M.tooLong, { n: limit }); }
    }
    if (question.type === "dossier_code") {
      var pattern = new RegExp(o.pattern || "^[0-9A-Za-z.\\-/]{4,40}$");
      if (!pattern.test(String(value))) { return M.pattern; }
    }
    return null;
  }

  function field(question, draft, onChange) {
    var name = question.id;
    var value = draft.answers[name];
    var errorsId = name + "-errors";
    var choiceTypes = { scale5: 1, rating: 1, single: 1, yesno: 1, multiple: 1 };
    if (choiceTypes[question.type]) {
      var choices = question.type === "yesno" ? [{ value: 1, label: { vi: M.yes, en: M.yes } }, { value: 0, label: { vi: M.no, en: M.no } }] : question.choices;
      var multiple = question.type === "multiple";
      return el("fieldset", { "class": "question", "data-question": name, "aria-describedby": errorsId }, [
        el("legend", { text: label(question.label) + (question.required ? " *" : "") }),
        question.hint ? el("p", { "class": "hint", text: label(question.hint) }) : null,
        el("div", { "class": "options" }, choices.map(function (c, i) {
          var checked = multiple ? (value || []).indexOf(c.value) >= 0 : value === c.value;
          return el("label", { "for": name + "-" + i }, [
            el("input", { type: multiple ? "checkbox" : "radio", name: name, id: name + "-" + i, value: String(c.value),
              checked: checked ? "checked" : null, onchange: function () {
                if (multiple) {
                  var now = Array.prototype.filter.call(document.getElementsByName(name), function (x) { return x.checked; })
                    .map(function (x) { return typeof c.value === "number" ? Number(x.value) : x.value; });
                  onChange(name, now);
                } else { onChange(name, c.value); }
              } }),
            el("span", { text: label(c.label) })
          ]);
        })),
        el("ul", { "class": "errors", id: errorsId, role: "alert" })
      ]);
    }
    if (question.type === "note") {
      return el("p", { "class": "question hint", "data-question": name, text: label(question.label) });
    }
    if (question.type === "calculate") {  // no input: computed from the answers before it
      return el("div", { "class": "question calculated", "data-question": name }, [
        el("span", { "class": "field-label", id: name + "-label", text: label(question.label) }),
        el("output", { id: name, "aria-labelledby": name + "-label", "aria-live": "polite" })
      ]);
    }
    var input;
    var attrs = { id: name, name: name, "aria-describedby": errorsId };
    if (question.type === "longtext") {
      input = el("textarea", attrs);
      input.value = value || "";
    } else if (question.type === "consent") {
      attrs.type = "checkbox";
      attrs.checked = value ? "checked" : null;
      input = el("input", attrs);
    } else {
      attrs.type = { integer: "number", decimal: "number", date: "date" }[question.type] || "text";
      if (question.type === "decimal") { attrs.step = "any"; }
      // Dossier codes carry letters and dots (000.00.12.H12-250101-0001): the full keyboard, in capitals.
      if (question.type === "dossier_code") { attrs.inputmode = "text"; attrs.autocapitalize = "characters"; attrs.autocomplete = "off"; attrs.spellcheck = "false"; }
      input = el("input", attrs);
      input.value = value === undefined || value === null ? "" : value;
    }
    input.addEventListener(question.type === "consent" ? "change" : "input", function () {
      var v = question.type === "consent" ? input.checked : input.value;
      if ((question.type === "integer" || question.type === "decimal") && v !== "" && isFinite(Number(v))) { v = Number(v); }
      onChange(name, v);
    });
    return el("div", { "class": "question", "data-question": name }, [
      el("label", { "for": name, "class": "field-label", text: label(question.label) + (question.required ? " *" : "") }),
      question.hint ? el("p", { "class": "hint", text: label(question.hint) }) : null,
      input,
      el("ul", { "class": "errors", id: errorsId, role: "alert" })
    ]);
  }

  function interviewScreen(draft) {
    S.get("kv", "q:" + draft.questionnaire + "@" + draft.version).then(function (q) {
      if (!q) { return homeScreen(M.noAssignments); }
      var banner = el("p", { "class": "form-error", role: "alert", hidden: "hidden", text: M.fixErrors });
      var nodes = q.questions.map(function (question) {
        return field(question, draft, function (name, value) {
          if (value === "" || value === null || (Array.isArray(value) && !value.length)) { delete draft.answers[name]; }
          else { draft.answers[name] = value; }
          draft.updated_at = new Date().toISOString();
          S.put("drafts", draft);
          applyRelevance();
        });
      });
      function applyRelevance() {
        var state = interviewState(q, draft);
        q.questions.forEach(function (question, i) {
          nodes[i].hidden = !state.shown[question.id];
          if (question.type === "calculate") {
            var computed = state.answers[question.id];
            nodes[i].querySelector("output").textContent = computed === null ? "—" : computed;
            nodes[i].hidden = nodes[i].hidden || !label(question.label);  // a calculation without a label stays out of sight
          }
        });
      }
      var form = el("form", { novalidate: "novalidate", onsubmit: function (e) {
        e.preventDefault();
        var bad = 0;
        var state = interviewState(q, draft);
        q.questions.forEach(function (question, i) {
          var list = nodes[i].querySelector(".errors");
          if (list) { list.textContent = ""; }
          nodes[i].classList.remove("has-error");
          if (!state.shown[question.id] || question.type === "calculate") { return; }
          var message = check(question, draft.answers[question.id]);
          if (message && list) { bad += 1; nodes[i].classList.add("has-error"); list.appendChild(el("li", { text: message })); }
        });
        banner.hidden = bad === 0;
        if (bad) { banner.focus(); return; }
        finish(q, draft);
      } }, [banner].concat(nodes, [el("div", { "class": "actions" }, [
        el("button", { type: "submit", "class": "primary", text: M.finish }),
        el("button", { type: "button", "class": "secondary", text: M.cancel, onclick: function () { homeScreen(); } })
      ])]));
      banner.setAttribute("tabindex", "-1");
      show([el("h1", { text: label(q.title) }), el("p", { "class": "hint", text: draft.unit + " · v" + draft.version }), form]);
      applyRelevance();
    });
  }

  function finish(q, draft) {
    var answers = {};
    var state = interviewState(q, draft);
    q.questions.forEach(function (question) {  // the server recomputes calculations: not sent
      if (state.shown[question.id] && question.type !== "calculate" && draft.answers[question.id] !== undefined) {
        answers[question.id] = draft.answers[question.id];
      }
    });
    var ended = new Date();
    var paradata = {
      started_at: draft.started_at, ended_at: ended.toISOString(),
      duration_seconds: Math.round((ended - new Date(draft.started_at)) / 1000),
      device: navigator.platform || "", user_agent: navigator.userAgent.slice(0, 300),
      app_version: cfg.appVersion, questionnaire_version: draft.version, consent: true
    };
    if (draft.gps) { paradata.gps = draft.gps; }
    var item = { id: draft.id, queued_at: ended.toISOString(), submission: {
      id: draft.id, questionnaire: draft.questionnaire, version: draft.version, assignment: draft.assignment,
      answers: answers, started_at: draft.started_at, submitted_at: ended.toISOString(), paradata: paradata
    } };
    S.finishDraft(draft.id, item).then(function () {
      homeScreen(M.saved);
      updateStatus();
      syncState.delay = 5000;
      sync();
    });
  }

  function render() {
    return S.get("kv", "token").then(function (token) {
      updateStatus();
      if (!token) { return signInScreen(); }
      return homeScreen();
    });
  }

  render().then(sync);
})();
