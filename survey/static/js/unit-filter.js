// Finds a unit in a long picker by typing part of its name, whatever the tone marks and case:
// "thoi binh" finds "Thới Bình", "song doc" finds "Sông Đốc". Every typed word must occur.
// The same folding as survey/text.py `fold` (a browser test checks they agree).
(function () {
  "use strict";

  function fold(text) {
    return text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").replace(/[đĐ]/g, "d")
      .toLowerCase().replace(/\s+/g, " ").trim();
  }

  function attach(input) {
    var select = document.getElementById(input.getAttribute("data-filter-for"));
    var status = document.getElementById(input.getAttribute("aria-describedby"));
    if (!select) { return; }
    var options = Array.prototype.slice.call(select.options);
    var folded = options.map(function (option) { return fold(option.textContent); });
    input.hidden = false;
    input.addEventListener("input", function () {
      var words = fold(input.value).split(" ").filter(Boolean);
      var found = [];
      options.forEach(function (option, i) {
        var match = words.every(function (word) { return folded[i].indexOf(word) !== -1; });
        option.hidden = !match;
        option.disabled = !match;
        if (match) { found.push(option); }
      });
      if (found.length && select.options[select.selectedIndex].disabled) {
        select.value = found[0].value;
      }
      if (status) {
        status.textContent = words.length ? input.getAttribute("data-count-text").replace("{n}", found.length) : "";
      }
    });
  }

  window.HailongText = { fold: fold };
  Array.prototype.forEach.call(document.querySelectorAll("input[data-filter-for]"), attach);
}());
