// Focal web app: progressive enhancement only. Every page works without
// this script; with it, pages that show records (<main data-live="…">)
// update without a reload when the node stores a change of a record type
// they show, through the server-sent events of /events.
(function () {
  "use strict";
  var main = document.getElementById("main");
  if (!main || !window.EventSource) return;
  var live = main.getAttribute("data-live");
  if (!live) return;
  var wanted = live.split(" ");
  var pending = false;
  function refresh() {
    if (pending) return;
    pending = true;
    // Several changes in a burst: one fetch.
    setTimeout(function () {
      fetch(window.location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (text) {
          pending = false;
          if (!text) return;
          var doc = new DOMParser().parseFromString(text, "text/html");
          var fresh = doc.getElementById("main");
          if (!fresh) return;
          // Keep what the person is typing in the filters.
          var active = document.activeElement;
          if (active && main.contains(active) && /INPUT|SELECT|TEXTAREA/.test(active.tagName)) return;
          main.innerHTML = fresh.innerHTML;
          main.setAttribute("data-updated", String(Date.now()));
        })
        .catch(function () { pending = false; });
    }, 150);
  }
  var source = new EventSource("/events");
  source.addEventListener("change", function (event) {
    var kind = event.data;
    if (wanted.indexOf("*") >= 0 || kind === "*" || wanted.indexOf(kind) >= 0) refresh();
  });
  main.setAttribute("data-live-connected", "true");
})();
