// Portico's script: small progressive enhancements. Every page works without it.
(function () {
  "use strict";
  var root = document.documentElement;

  // Theme: light, dark, or the system's; remembered across visits.
  document.addEventListener("click", function (ev) {
    var toggle = ev.target.closest("[data-theme-toggle]");
    if (!toggle) return;
    var dark = root.dataset.theme ? root.dataset.theme === "dark" : matchMedia("(prefers-color-scheme: dark)").matches;
    root.dataset.theme = dark ? "light" : "dark";
    try { localStorage.setItem("portico-theme", root.dataset.theme); } catch (e) { /* private mode */ }
  });

  // "/" focuses the search box, as on most sites.
  document.addEventListener("keydown", function (ev) {
    if (ev.key !== "/" || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    var t = ev.target;
    if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) return;
    var box = document.getElementById("q") || document.getElementById("top-q") || document.getElementById("home-q");
    if (box) { ev.preventDefault(); box.focus(); box.select(); }
  });

  // Instant search: results follow the query as it is typed.
  var form = document.querySelector("[data-instant-search]");
  if (form) {
    var input = form.querySelector("input[name=q]");
    var results = document.getElementById("results");
    var timer = null, seq = 0;
    var run = function () {
      var params = new URLSearchParams(new FormData(form));
      var mine = ++seq;
      var shown = "/search?" + params.toString();
      params.set("partial", "1");
      fetch("/search?" + params.toString(), { headers: { "Accept": "text/html" } })
        .then(function (r) { return r.text(); })
        .then(function (html) {
          if (mine !== seq) return; // a newer query has been sent
          results.innerHTML = html;
          history.replaceState(null, "", shown);
        })
        .catch(function () { /* keep the last results */ });
    };
    input.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(run, 90); });
    // Keep the caret at the end of a pre-filled query.
    var v = input.value; input.value = ""; input.value = v;
  }

  // Graphs open centred on where they start; a click on the background switches between
  // full size and fitting the box.
  var centre = function (box) {
    box.scrollLeft = (box.scrollWidth - box.clientWidth) / 2;
    box.scrollTop = (box.scrollHeight - box.clientHeight) / 2;
  };
  document.querySelectorAll("[data-graph]").forEach(centre);
  document.addEventListener("click", function (ev) {
    var svg = ev.target.closest("[data-graph] svg");
    if (!svg || ev.target.closest("a")) return;
    svg.classList.toggle("fit");
    centre(svg.parentElement);
  });
})();
