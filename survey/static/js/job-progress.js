// Follows a job that runs in the background (a release build, a data export): asks the
// section's data-progress-url for the job's progress every two seconds, updates the section's
// progress bar, its label and its status line (read out by screen readers) with the server's
// words, and goes to data-done-url once the job no longer runs (done or failed). Without
// JavaScript the page says how to refresh it. The JSON it reads: progress (0–100), stage (the
// bar's label), message (the status line) and running.
(function () {
  "use strict";
  Array.prototype.forEach.call(document.querySelectorAll("[data-job-progress]"), function (box) {
    var bar = box.querySelector("progress");
    var status = box.querySelector("[role=status]");
    var label = bar && bar.id ? box.querySelector("label[for='" + bar.id + "']") : null;
    function show(data) {
      if (bar) {
        bar.value = data.progress;
        bar.textContent = data.progress + "%";
      }
      if (label && data.stage) { label.textContent = data.stage; }
      if (status && data.message) { status.textContent = data.message; }
    }
    function poll() {
      fetch(box.dataset.progressUrl, {headers: {"Accept": "application/json"}, credentials: "same-origin"})
        .then(function (response) {
          if (!response.ok) { throw new Error(response.status); }
          return response.json();
        })
        .then(function (data) {
          show(data);
          if (!data.running) { window.location.assign(box.dataset.doneUrl); return; }
          window.setTimeout(poll, 2000);
        })
        .catch(function () { window.setTimeout(poll, 5000); });
    }
    window.setTimeout(poll, 1000);
  });
}());
