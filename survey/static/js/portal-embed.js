// On a website that embeds the Hài Lòng widget: fit each widget frame
// (<iframe data-hailong-widget>) to the height its page reports. Only messages from the frame's
// own window and origin are believed, and only a height is taken from them.
"use strict";
(function () {
  function frames() { return document.querySelectorAll("iframe[data-hailong-widget]"); }
  window.addEventListener("message", function (event) {
    var data = event.data;
    if (!data || data.type !== "hailong:widget-height" || typeof data.height !== "number") { return; }
    var list = frames();
    for (var i = 0; i < list.length; i++) {
      var frame = list[i];
      var origin;
      try { origin = new URL(frame.src, location.href).origin; } catch (e) { continue; }
      if (frame.contentWindow === event.source && origin === event.origin) {
        frame.style.height = Math.max(80, Math.min(2000, Math.round(data.height))) + "px";
        frame.setAttribute("data-hailong-height", String(Math.round(data.height)));
      }
    }
  });
  function hello() {
    var list = frames();
    for (var i = 0; i < list.length; i++) {
      try { list[i].contentWindow.postMessage({ type: "hailong:widget-hello" }, new URL(list[i].src, location.href).origin); }
      catch (e) { /* not loaded yet: it reports on load anyway */ }
    }
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", hello); } else { hello(); }
})();
