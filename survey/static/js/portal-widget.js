// Inside the widget's frame: tell the page around it how tall the widget is, whenever that
// changes, so the frame fits without a scroll bar (answered by portal-embed.js on that page).
"use strict";
(function () {
  if (window.parent === window) { return; }
  var last = 0;
  function report() {
    var height = Math.ceil(document.documentElement.getBoundingClientRect().height);
    if (height !== last) {
      last = height;
      window.parent.postMessage({ type: "hailong:widget-height", height: height, href: location.href }, "*");
    }
  }
  window.addEventListener("load", report);
  window.addEventListener("resize", report);
  window.addEventListener("message", function (event) {
    if (event.data && event.data.type === "hailong:widget-hello") { last = 0; report(); }
  });
  if (window.ResizeObserver) { new ResizeObserver(report).observe(document.documentElement); }
  report();
})();
