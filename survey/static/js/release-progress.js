// Follows a release build: asks the server for its progress every two seconds, updates the
// progress bar and the status line (read out by screen readers), and reloads the page when the
// build is done or has failed. Without JavaScript the page says how to refresh it.
(function () {
  "use strict";
  var box = document.getElementById("build-progress");
  if (!box) { return; }
  var bar = document.getElementById("build-bar");
  var status = document.getElementById("build-status");
  var label = box.querySelector("label[for='build-bar']");
  function poll() {
    fetch(box.dataset.progressUrl, {headers: {"Accept": "application/json"}, credentials: "same-origin"})
      .then(function (response) { return response.json(); })
      .then(function (data) {
        bar.value = data.progress;
        bar.textContent = data.progress + "%";
        if (label) { label.textContent = data.stage; }
        status.textContent = data.progress + "%";
        if (data.status !== "draft") { window.location.assign(box.dataset.doneUrl); return; }
        window.setTimeout(poll, 2000);
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 1000);
}());
