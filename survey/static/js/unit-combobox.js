// The searchable unit picker (ARIA 1.2 combobox with a list box): a text field that asks the server
// (/staff/units/search) for the units whose name has the typed words, whatever the tone marks and
// case, within the user's area. Arrow keys move in the list, Enter chooses, Escape closes; the
// field then holds "Name (code)", which the server reads. Without JavaScript the same field takes
// a code or a name as typed. Historical units (valid to 30 June 2025) are listed too, marked
// "trước 1/7/2025", when the page's period began before the reform or the box "-history" is ticked.
(function () {
  "use strict";

  function attach(input) {
    var listId = input.id + "-list";
    var list = document.createElement("ul");
    list.id = listId;
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", input.getAttribute("data-list-label") || "");
    list.className = "unit-combobox-list";
    list.hidden = true;
    input.parentNode.insertBefore(list, input.nextSibling);
    var status = document.getElementById(input.id + "-status");
    var history = document.getElementById(input.id + "-history");
    if (history) {
      history.closest(".unit-history").hidden = false;
      history.addEventListener("change", function () { if (input.value.trim()) { ask(); } });
    }
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", listId);
    var results = [];
    var active = -1;
    var timer = null;
    var asked = 0;

    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function highlight(index) {
      var items = list.querySelectorAll("[role=option]");
      items.forEach(function (item, i) { item.setAttribute("aria-selected", i === index ? "true" : "false"); });
      active = index;
      if (index >= 0 && items[index]) {
        input.setAttribute("aria-activedescendant", items[index].id);
        items[index].scrollIntoView({block: "nearest"});
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }

    function choose(index) {
      var found = results[index];
      if (!found) { return; }
      input.value = found.label;
      close();
      if (status) { status.textContent = found.label; }
      input.dispatchEvent(new Event("change", {bubbles: true}));
    }

    function show(data) {
      results = data.results || [];
      list.innerHTML = "";
      results.forEach(function (found, i) {
        var item = document.createElement("li");
        item.id = listId + "-" + i;
        item.setAttribute("role", "option");
        item.setAttribute("aria-selected", "false");
        item.textContent = found.label + (found.parent ? " — " + found.parent : "") +
          (found.historical && found.note ? " (" + found.note + ")" : "");
        if (found.historical) { item.className = "historical"; }
        item.addEventListener("mousedown", function (event) { event.preventDefault(); choose(i); });
        list.appendChild(item);
      });
      var text = results.length ? (input.getAttribute("data-count") || "{n}").replace("{n}", results.length +
        (data.more ? "+" : "")) : (input.getAttribute("data-none") || "");
      if (status) { status.textContent = text; }
      if (results.length) {
        list.hidden = false;
        input.setAttribute("aria-expanded", "true");
        highlight(-1);
      } else {
        close();
      }
    }

    function ask() {
      var query = input.value.trim();
      if (query.length < 1) { close(); return; }
      var url = input.getAttribute("data-search") + "?q=" + encodeURIComponent(query) +
        "&levels=" + encodeURIComponent(input.getAttribute("data-levels") || "");
      if (input.getAttribute("data-within")) { url += "&within=" + encodeURIComponent(input.getAttribute("data-within")); }
      // historical units (before 1 July 2025) too: for a page whose period began before the
      // reform (data-period), or when the user ticks the box beside the field
      if (input.getAttribute("data-period")) { url += "&period=" + encodeURIComponent(input.getAttribute("data-period")); }
      if (history && history.checked) { url += "&history=1"; }
      var mine = ++asked;
      fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
        .then(function (response) { return response.ok ? response.json() : {results: []}; })
        .then(function (data) { if (mine === asked) { show(data); } })
        .catch(function () { close(); });
    }

    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(ask, 150);
    });
    input.addEventListener("keydown", function (event) {
      if (event.key === "ArrowDown") {
        event.preventDefault();
        if (list.hidden) { ask(); return; }
        highlight(Math.min(active + 1, results.length - 1));
      } else if (event.key === "ArrowUp") {
        event.preventDefault();
        highlight(Math.max(active - 1, 0));
      } else if (event.key === "Enter" && !list.hidden && active >= 0) {
        event.preventDefault();  // choosing is not sending the form
        choose(active);
      } else if (event.key === "Escape" && !list.hidden) {
        event.preventDefault();
        close();
      }
    });
    input.addEventListener("blur", function () { setTimeout(close, 100); });
    if (input.getAttribute("data-submit") === "code" && input.form) {
      // This form's server reads a code: send the code of "Name (code)".
      input.form.addEventListener("submit", function () {
        var match = /\(([^()]+)\)\s*$/.exec(input.value);
        if (match) { input.value = match[1]; }
      });
    }
  }

  function start() {
    document.querySelectorAll("input.unit-combobox").forEach(attach);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
