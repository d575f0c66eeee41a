// Follows a data export written in the background, as release-progress.js follows a release
// build: asks the server for its progress every two seconds, updates the progress bar and the
// status line (read out by screen readers), and reloads the page when the file is ready or the
// job has failed. Without JavaScript the page says how to refresh it.
(function () {
  "use strict";
  var box = document.getElementById("export-progress");
  if (!box) { return; }
  var bar = document.getElementById("export-bar");
  var status = document.getElementById("export-status");
  var label = box.querySelector("label[for='export-bar']");
  var numbers = new Intl.NumberFormat(document.documentElement.lang || "vi");
  function poll() {
    fetch(box.dataset.progressUrl, {headers: {"Accept": "application/json"}, credentials: "same-origin"})
      .then(function (response) { return response.json(); })
      .then(function (data) {
        bar.value = data.progress;
        bar.textContent = data.progress + "%";
        if (label) { label.textContent = data.stage; }
        status.textContent = numbers.format(data.rows_done) + " / " + numbers.format(data.rows_total || 0) +
          " (" + data.progress + "%)";
        if (!data.running) { window.location.assign(box.dataset.doneUrl); return; }
        window.setTimeout(poll, 2000);
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 1000);
}());
