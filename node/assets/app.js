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
  // One stream per visible page: a hidden tab or a page being left closes
  // its stream (browsers allow a few connections per site over HTTP/1.1;
  // streams of background tabs would use them up) and reads the page again
  // when it is shown.
  var source = null;
  function onChange(event) {
    var kind = event.data;
    if (wanted.indexOf("*") >= 0 || kind === "*" || wanted.indexOf(kind) >= 0) refresh();
  }
  function open() {
    if (source) return;
    source = new EventSource("/events");
    source.addEventListener("change", onChange);
    main.setAttribute("data-live-connected", "true");
  }
  function close() {
    if (!source) return;
    source.close();
    source = null;
    main.removeAttribute("data-live-connected");
  }
  document.addEventListener("visibilitychange", function () {
    if (document.hidden) {
      close();
    } else if (!source) {
      open();
      refresh();
    }
  });
  window.addEventListener("pagehide", close);
  window.addEventListener("pageshow", function (event) {
    if (event.persisted && !source) {
      open();
      refresh();
    }
  });
  if (!document.hidden) open();
})();
// Multilingual text: one tab per language (without script, every language
// is shown at once). The original's tab is marked.
(function () {
  "use strict";
  function setup(fieldset) {
    var panels = fieldset.querySelectorAll(".lang-panel");
    var bar = fieldset.querySelector(".tabs");
    if (!bar || panels.length < 2) return;
    bar.hidden = false;
    var buttons = [];
    function show(index) {
      for (var i = 0; i < panels.length; i++) {
        panels[i].hidden = i !== index;
        buttons[i].setAttribute("aria-selected", i === index ? "true" : "false");
        buttons[i].tabIndex = i === index ? 0 : -1;
      }
    }
    function mark() {
      for (var i = 0; i < panels.length; i++) {
        var radio = panels[i].querySelector("input[type=radio]");
        var text = panels[i].querySelector("input:not([type=radio]), textarea");
        var label = panels[i].getAttribute("data-label");
        var extra = [];
        if (radio && radio.checked) extra.push("✓ " + (radio.nextElementSibling ? radio.nextElementSibling.textContent : ""));
        else if (text && text.value.trim()) extra.push("•");
        buttons[i].textContent = label + (extra.length ? " " + extra.join(" ") : "");
      }
    }
    var first = 0;
    for (var i = 0; i < panels.length; i++) {
      var b = document.createElement("button");
      b.type = "button";
      b.setAttribute("role", "tab");
      b.id = fieldset.id + "-tab-" + i;
      panels[i].setAttribute("role", "tabpanel");
      panels[i].setAttribute("aria-labelledby", b.id);
      (function (index) {
        b.addEventListener("click", function () { show(index); });
        b.addEventListener("keydown", function (e) {
          var next = null;
          if (e.key === "ArrowRight") next = (index + 1) % panels.length;
          if (e.key === "ArrowLeft") next = (index + panels.length - 1) % panels.length;
          if (next !== null) { show(next); buttons[next].focus(); e.preventDefault(); }
        });
      })(i);
      buttons.push(b);
      bar.appendChild(b);
      var radio = panels[i].querySelector("input[type=radio]");
      if (radio && radio.checked) first = i;
      panels[i].addEventListener("input", mark);
      panels[i].addEventListener("change", mark);
    }
    mark();
    show(first);
  }
  var sets = document.querySelectorAll("fieldset[data-tabs]");
  for (var i = 0; i < sets.length; i++) setup(sets[i]);
  var summary = document.getElementById("error-summary");
  if (summary) summary.focus();
})();
