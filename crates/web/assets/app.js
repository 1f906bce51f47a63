// Portico's script: small progressive enhancements. Every page works without it.
(function () {
  "use strict";
  var root = document.documentElement;

  // Theme: light, dark, or the system's; remembered across visits. The toggle is pressed
  // while the page is dark, whichever chose it.
  var system = matchMedia("(prefers-color-scheme: dark)");
  var dark = function () { return root.dataset.theme ? root.dataset.theme === "dark" : system.matches; };
  var showTheme = function () {
    document.querySelectorAll("[data-theme-toggle]").forEach(function (b) { b.setAttribute("aria-pressed", String(dark())); });
  };
  showTheme();
  if (system.addEventListener) system.addEventListener("change", showTheme);
  document.addEventListener("click", function (ev) {
    var toggle = ev.target.closest("[data-theme-toggle]");
    if (!toggle) return;
    root.dataset.theme = dark() ? "light" : "dark";
    try { localStorage.setItem("portico-theme", root.dataset.theme); } catch (e) { /* private mode */ }
    showTheme();
  });

  // Filter chips are links acting as checkboxes (role="checkbox"): Space toggles them, as it
  // does a checkbox; Enter still follows them as links.
  document.addEventListener("keydown", function (ev) {
    if (ev.key !== " " || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    var chip = ev.target.closest && ev.target.closest("a[role=checkbox]");
    if (!chip) return;
    ev.preventDefault();
    chip.click();
  });

  // "/" focuses the search box, as on most sites.
  document.addEventListener("keydown", function (ev) {
    if (ev.key !== "/" || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    var t = ev.target;
    if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) return;
    var box = document.getElementById("q") || document.getElementById("top-q") || document.getElementById("home-q");
    if (box) { ev.preventDefault(); box.focus(); box.select(); }
  });

  // Instant search: results follow the query as it is typed. When a request fails, the last
  // results stay and a line above them says why (the error page's message, not the page).
  var form = document.querySelector("[data-instant-search]");
  if (form) {
    var input = form.querySelector("input[name=q]");
    var results = document.getElementById("results");
    var notice = document.createElement("p");
    notice.id = "search-error"; notice.className = "error-message"; notice.setAttribute("role", "alert"); notice.hidden = true;
    results.parentNode.insertBefore(notice, results);
    var failed = function (why) {
      notice.textContent = "Search failed: " + why + ". The results below are from before.";
      notice.hidden = false;
    };
    var reason = function (html, status) {
      var message = new DOMParser().parseFromString(html, "text/html").querySelector(".error-page .message");
      var text = message && message.textContent.trim();
      return text || "the server answered " + status;
    };
    var timer = null, seq = 0;
    var run = function () {
      var params = new URLSearchParams(new FormData(form));
      var mine = ++seq;
      var shown = "/search?" + params.toString();
      params.set("partial", "1");
      fetch("/search?" + params.toString(), { headers: { "Accept": "text/html" } })
        .then(function (r) {
          return r.text().then(function (html) {
            if (mine !== seq) return; // a newer query has been sent
            if (!r.ok) { failed(reason(html, r.status)); return; }
            notice.hidden = true;
            results.innerHTML = html;
            history.replaceState(null, "", shown);
          });
        })
        .catch(function () { if (mine === seq) failed("the server could not be reached"); });
    };
    input.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(run, 90); });
    // Keep the caret at the end of a pre-filled query.
    var v = input.value; input.value = ""; input.value = v;
  }

  // Graphs open centred on where they start. "Fit to box" (shown only with this script)
  // switches between full size and fitting the box, as does a click on the background; the
  // + and − buttons (or Ctrl and the mouse wheel) zoom, and dragging the background pans.
  var centre = function (box) {
    box.scrollLeft = (box.scrollWidth - box.clientWidth) / 2;
    box.scrollTop = (box.scrollHeight - box.clientHeight) / 2;
  };
  var controlsOf = function (canvas) {
    var controls = canvas.previousElementSibling;
    return controls && controls.matches(".graph-controls") ? controls : null;
  };
  var fitButton = function (canvas) {
    var controls = controlsOf(canvas);
    return controls && controls.querySelector("[data-graph-fit]");
  };
  var setZoom = function (canvas, zoom) {
    var svg = canvas.querySelector("svg");
    if (!svg) return;
    var w = Number(svg.getAttribute("width")), h = Number(svg.getAttribute("height"));
    zoom = Math.min(4, Math.max(0.1, zoom));
    // Keep the middle of what is shown in the middle.
    var cx = (canvas.scrollLeft + canvas.clientWidth / 2) / canvas.scrollWidth;
    var cy = (canvas.scrollTop + canvas.clientHeight / 2) / canvas.scrollHeight;
    svg.classList.remove("fit");
    svg.style.width = Math.round(w * zoom) + "px";
    svg.style.height = Math.round(h * zoom) + "px";
    canvas.dataset.zoom = String(zoom);
    canvas.scrollLeft = cx * canvas.scrollWidth - canvas.clientWidth / 2;
    canvas.scrollTop = cy * canvas.scrollHeight - canvas.clientHeight / 2;
    var button = fitButton(canvas);
    if (button) button.setAttribute("aria-pressed", "false");
    var label = controlsOf(canvas) && controlsOf(canvas).querySelector("[data-graph-zoom-level]");
    if (label) label.textContent = Math.round(zoom * 100) + "%";
  };
  var toggleFit = function (canvas) {
    var svg = canvas.querySelector("svg");
    if (!svg) return;
    svg.style.width = ""; svg.style.height = ""; canvas.dataset.zoom = "1";
    var fit = svg.classList.toggle("fit");
    var button = fitButton(canvas);
    if (button) button.setAttribute("aria-pressed", String(fit));
    var label = controlsOf(canvas) && controlsOf(canvas).querySelector("[data-graph-zoom-level]");
    if (label) label.textContent = fit ? "fit" : "100%";
    centre(canvas);
  };
  document.querySelectorAll("[data-graph]").forEach(function (canvas) {
    centre(canvas);
    var controls = controlsOf(canvas);
    if (controls) controls.querySelectorAll("[data-graph-fit], [data-graph-zoom]").forEach(function (b) { b.hidden = false; });
    canvas.addEventListener("wheel", function (ev) {
      if (!ev.ctrlKey) return;
      ev.preventDefault();
      setZoom(canvas, Number(canvas.dataset.zoom || "1") * (ev.deltaY < 0 ? 1.15 : 1 / 1.15));
    }, { passive: false });
    var drag = null;
    canvas.addEventListener("pointerdown", function (ev) {
      if (ev.button !== 0 || ev.target.closest("a")) return;
      drag = { x: ev.clientX, y: ev.clientY, left: canvas.scrollLeft, top: canvas.scrollTop, moved: false };
    });
    canvas.addEventListener("pointermove", function (ev) {
      if (!drag) return;
      var dx = ev.clientX - drag.x, dy = ev.clientY - drag.y;
      if (Math.abs(dx) + Math.abs(dy) > 4) drag.moved = true;
      canvas.scrollLeft = drag.left - dx; canvas.scrollTop = drag.top - dy;
    });
    var stop = function () { if (drag) { canvas.dataset.dragged = drag.moved ? "1" : ""; drag = null; } };
    canvas.addEventListener("pointerup", stop);
    canvas.addEventListener("pointerleave", stop);
  });
  document.addEventListener("click", function (ev) {
    var zoom = ev.target.closest("[data-graph-zoom]");
    var button = ev.target.closest("[data-graph-fit]");
    if (zoom || button) {
      var canvas = (zoom || button).closest(".graph-controls").nextElementSibling;
      if (!canvas || !canvas.matches("[data-graph]")) return;
      if (button) toggleFit(canvas);
      else setZoom(canvas, Number(canvas.dataset.zoom || "1") * (zoom.dataset.graphZoom === "in" ? 1.25 : 0.8));
      return;
    }
    var svg = ev.target.closest("[data-graph] svg");
    if (!svg || ev.target.closest("a")) return;
    // The end of a drag is no click.
    if (svg.parentElement.dataset.dragged) { svg.parentElement.dataset.dragged = ""; return; }
    toggleFit(svg.parentElement);
  });

  // Query console: completion of functions, names, kinds and fields, from the vocabulary the
  // API publishes; Ctrl+Enter runs the query.
  var completable = document.querySelectorAll("[data-complete]");
  if (completable.length) {
    var words = null;
    var load = function () {
      if (words) return Promise.resolve(words);
      return fetch("/api/v1/query/vocabulary").then(function (r) { return r.json(); }).then(function (v) {
        words = [];
        v.functions.forEach(function (f) { words.push({ text: f.name + "(", label: f.name, hint: f.signature }); });
        v.variables.variables.forEach(function (x) { words.push({ text: x.name, label: x.name, hint: x.description }); });
        v.kinds.forEach(function (k) { words.push({ text: k, label: k, hint: "kind", kind: true }); });
        v.fields.forEach(function (f) { words.push({ text: f, label: f, hint: "field" }); });
        ["size()", "exists(e, ", "all(e, ", "map(e, ", "filter(e, ", "contains(", "startsWith(", "matches("].forEach(function (m) {
          words.push({ text: m, label: m, hint: "CEL", method: true });
        });
        return words;
      });
    };
    var list = document.createElement("ul");
    list.className = "completion"; list.setAttribute("role", "listbox"); list.hidden = true; list.id = "completion";
    document.body.appendChild(list);
    var active = null, items = [], selected = 0, start = 0;
    var close = function () { list.hidden = true; items = []; if (active) active.removeAttribute("aria-activedescendant"); };
    var render = function () {
      list.innerHTML = "";
      items.forEach(function (w, i) {
        var li = document.createElement("li");
        li.id = "completion-" + i; li.setAttribute("role", "option"); li.setAttribute("aria-selected", i === selected ? "true" : "false");
        var a = document.createElement("span"); a.textContent = w.label;
        var b = document.createElement("span"); b.className = "hint"; b.textContent = w.hint;
        li.appendChild(a); li.appendChild(b);
        li.addEventListener("mousedown", function (ev) { ev.preventDefault(); selected = i; accept(); });
        list.appendChild(li);
      });
      var r = active.getBoundingClientRect();
      list.style.left = (window.scrollX + r.left) + "px";
      list.style.top = (window.scrollY + r.bottom + 2) + "px";
      list.hidden = items.length === 0;
      if (items.length) active.setAttribute("aria-activedescendant", "completion-" + selected);
    };
    var accept = function () {
      var w = items[selected]; if (!w) return;
      var v = active.value, end = active.selectionStart;
      active.value = v.slice(0, start) + w.text + v.slice(end);
      var caret = start + w.text.length; active.setSelectionRange(caret, caret);
      close(); active.focus();
    };
    var suggest = function (el) {
      active = el;
      var v = el.value, end = el.selectionStart;
      var m = /[A-Za-z_][A-Za-z0-9_.]*$/.exec(v.slice(0, end));
      var quoted = /kind\s*==\s*['"]([A-Za-z]*)$/.exec(v.slice(0, end));
      if (!m && !quoted) { close(); return; }
      load().then(function (all) {
        var word = quoted ? quoted[1] : m[0];
        var member = !quoted && word.indexOf(".") < 0 && v.slice(0, end - word.length).slice(-1) === ".";
        start = end - word.length;
        var lower = word.toLowerCase();
        items = all.filter(function (w) {
          if (quoted) return w.kind && w.text.toLowerCase().indexOf(lower) === 0;
          if (w.kind) return false;
          if (member) return (w.method || /\($/.test(w.text)) && w.text.toLowerCase().indexOf(lower) === 0;
          return w.text.toLowerCase().indexOf(lower) === 0 && w.text !== word;
        }).slice(0, 12);
        selected = 0; render();
      }).catch(close);
    };
    completable.forEach(function (el) {
      el.setAttribute("aria-autocomplete", "list"); el.setAttribute("aria-controls", "completion");
      el.addEventListener("input", function () { suggest(el); });
      el.addEventListener("blur", function () { setTimeout(close, 100); });
      el.addEventListener("keydown", function (ev) {
        if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); close(); el.form.requestSubmit(); return; }
        if (list.hidden) return;
        if (ev.key === "ArrowDown") { ev.preventDefault(); selected = (selected + 1) % items.length; render(); }
        else if (ev.key === "ArrowUp") { ev.preventDefault(); selected = (selected + items.length - 1) % items.length; render(); }
        else if (ev.key === "Enter" || ev.key === "Tab") { ev.preventDefault(); accept(); }
        else if (ev.key === "Escape") { ev.preventDefault(); close(); }
      });
    });
  }
  // A run's page follows the run live (Server-Sent Events): log lines as they are written,
  // each step's state as it changes, and the finished page once it ends.
  var runLog = document.querySelector("[data-run-events]");
  if (runLog && window.EventSource) {
    var seq = Number(runLog.dataset.runSeq || 0);
    var source = new EventSource(runLog.dataset.runEvents);
    var badge = function (el, status) { if (el) { el.textContent = status; el.className = "badge run-" + status; } };
    source.addEventListener("log", function (ev) {
      var line = JSON.parse(ev.data);
      if (line.seq <= seq) return;
      seq = line.seq;
      runLog.appendChild(document.createTextNode(line.line + "\n"));
      runLog.scrollTop = runLog.scrollHeight;
    });
    source.addEventListener("run", function (ev) {
      var run = JSON.parse(ev.data);
      badge(document.querySelector("[data-run-status]"), run.status);
      // Parked for an approval: the page shows who is asked once reloaded.
      if (run.status === "waiting" && !document.getElementById("approvals-heading")) { source.close(); location.reload(); return; }
      (run.steps || []).forEach(function (step) {
        var row = document.querySelector('[data-step="' + (window.CSS && CSS.escape ? CSS.escape(step.id) : step.id) + '"]');
        if (row) badge(row.querySelector("[data-step-status]"), step.status); else if (run.steps.length) location.reload();
      });
    });
    source.addEventListener("end", function () { source.close(); location.reload(); });
  }
  // A template's form: each field checked as it is left or changed (the server checks again),
  // and a form of several pages shown one page at a time, with Back and Next; Next goes on only
  // when the page's fields pass. Without scripts, every page shows at once.
  // (Its own scope: the names below must not touch the search's.)
  (function (form) {
    if (!form) return;
    var message = function (input) {
      var v = input.validity;
      if (v.valueMissing) return "This field is required.";
      if (v.customError) return "This does not match the expected format (" + input.dataset.pattern + ").";
      if (v.rangeUnderflow) return "At least " + input.min + ".";
      if (v.rangeOverflow) return "At most " + input.max + ".";
      if (v.stepMismatch) return "A whole number, please.";
      if (v.badInput || v.typeMismatch) return "This is not a valid value.";
      return input.validationMessage;
    };
    var show = function (input) {
      var field = input.closest(".field");
      if (!field || !input.willValidate) return true;
      var id = (input.id || input.name) + "-error";
      var p = document.getElementById(id);
      // JSON Schema's `pattern` is a search (not anchored), in JavaScript's own syntax: checked
      // here rather than by the browser's `pattern`, which anchors and is stricter.
      if (input.dataset.pattern) {
        var matches = true;
        try { matches = input.value === "" || new RegExp(input.dataset.pattern, "u").test(input.value); } catch (e) { matches = true; }
        input.setCustomValidity(matches ? "" : "pattern");
      }
      var ok = input.checkValidity();
      if (ok) {
        if (p && p.dataset.live) p.remove();
        field.classList.remove("invalid");
        input.removeAttribute("aria-invalid");
      } else {
        if (!p) { p = document.createElement("p"); p.id = id; p.className = "error-message"; p.dataset.live = "1"; field.appendChild(p); }
        p.textContent = message(input);
        field.classList.add("invalid");
        input.setAttribute("aria-invalid", "true");
        var d = input.getAttribute("aria-describedby") || "";
        if (d.split(" ").indexOf(id) < 0) input.setAttribute("aria-describedby", (d + " " + id).trim());
      }
      return ok;
    };
    form.querySelectorAll("input, textarea, select").forEach(function (input) {
      input.addEventListener("blur", function () { if (input.value !== "" || input.dataset.touched) show(input); input.dataset.touched = "1"; });
      input.addEventListener("input", function () { if (input.closest(".field.invalid")) show(input); });
    });
    var pages = Array.prototype.slice.call(form.querySelectorAll("fieldset.form-page"));
    if (pages.length > 1) {
      var steps = Array.prototype.slice.call(form.querySelectorAll(".form-steps a"));
      var actions = form.querySelector(".sticky-actions");
      var current = 0;
      var go = function (i) {
        current = i;
        pages.forEach(function (p, k) { p.hidden = k !== i; });
        steps.forEach(function (a, k) { if (k === i) a.setAttribute("aria-current", "step"); else a.removeAttribute("aria-current"); a.classList.toggle("done", k < i); });
        if (actions) actions.hidden = i !== pages.length - 1;
      };
      var valid = function (page) {
        var ok = true;
        page.querySelectorAll("input, textarea, select").forEach(function (input) { if (!show(input)) ok = false; });
        return ok;
      };
      pages.forEach(function (page, i) {
        var nav = document.createElement("div");
        nav.className = "actions page-nav";
        if (i > 0) {
          var back = document.createElement("button");
          back.type = "button"; back.className = "secondary"; back.textContent = "Back";
          back.addEventListener("click", function () { go(i - 1); pages[i - 1].scrollIntoView({ block: "start" }); });
          nav.appendChild(back);
        }
        if (i < pages.length - 1) {
          var next = document.createElement("button");
          next.type = "button"; next.textContent = "Next: " + (pages[i + 1].querySelector("legend") || {}).textContent;
          // Pressing it does not take the focus first: the field left would show its message and
          // move the button away from under the pointer before the click lands.
          next.addEventListener("mousedown", function (ev) { ev.preventDefault(); });
          next.addEventListener("click", function () {
            if (!valid(page)) { var bad = page.querySelector("[aria-invalid=true]"); if (bad) bad.focus(); return; }
            go(i + 1);
            var first = pages[i + 1].querySelector("input, textarea, select");
            if (first) first.focus();
          });
          nav.appendChild(next);
        }
        page.appendChild(nav);
      });
      steps.forEach(function (a, k) {
        a.addEventListener("click", function (ev) {
          ev.preventDefault();
          for (var j = 0; j < k; j++) if (!valid(pages[j])) { go(j); return; }
          go(k);
        });
      });
      // Open the first page with a problem the server found; after a review, the last (where
      // Run is); else the first.
      var withError = pages.findIndex(function (p) { return p.querySelector(".field.invalid"); });
      go(withError >= 0 ? withError : (document.getElementById("review-heading") ? pages.length - 1 : 0));
    }
  })(document.querySelector("form.template-form"));
})();
