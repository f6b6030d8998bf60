// Progressive enhancement only: every page works without this script.
(function () {
  "use strict";

  function poll(url, onData, intervalMs) {
    var stopped = false;
    function tick() {
      if (stopped) return;
      fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (data) {
          if (data && onData(data) === false) { stopped = true; return; }
          setTimeout(tick, intervalMs);
        })
        .catch(function () { setTimeout(tick, intervalMs * 2); });
    }
    setTimeout(tick, intervalMs);
  }

  // Decision page: reload once the application is decided.
  var pending = document.querySelector("[data-poll-url]");
  if (pending) {
    poll(pending.getAttribute("data-poll-url"), function (data) {
      if (data.decided) { window.location.reload(); return false; }
      return true;
    }, 1000);
  }

  // Version page: live training progress, reload when training ends.
  var training = document.querySelector("[data-progress-url]");
  if (training) {
    var bar = training.querySelector("progress");
    var percent = training.querySelector("[data-progress-percent]");
    var message = training.querySelector("[data-progress-message]");
    poll(training.getAttribute("data-progress-url"), function (data) {
      bar.value = data.progress;
      bar.textContent = data.progress + "%";
      percent.textContent = data.progress;
      message.textContent = data.progress_message || "";
      if (data.status !== "training") { window.location.reload(); return false; }
      return true;
    }, 1000);
  }

  // A table wider than its card scrolls in place: its wrapper becomes a labelled region that the keyboard can
  // reach and scroll (arrow keys), named after the table's caption or the nearest heading.
  function labelScrollingTables() {
    document.querySelectorAll(".table-wrap").forEach(function (wrap) {
      var scrolls = wrap.scrollWidth > wrap.clientWidth + 1;
      if (!scrolls) {
        if (wrap.hasAttribute("data-scroll-labelled")) {
          ["tabindex", "role", "aria-label", "data-scroll-labelled"].forEach(function (name) { wrap.removeAttribute(name); });
        }
        return;
      }
      if (wrap.hasAttribute("tabindex")) return;
      var caption = wrap.querySelector("caption");
      var section = wrap.closest("section, article, details, .card");
      var heading = section && section.querySelector("h2, h3, summary");
      var name = (caption || heading || {}).textContent || "Table";
      wrap.setAttribute("tabindex", "0");
      wrap.setAttribute("role", "region");
      wrap.setAttribute("aria-label", name.replace(/\s+/g, " ").trim() + " (scrolls sideways)");
      wrap.setAttribute("data-scroll-labelled", "");
    });
  }
  labelScrollingTables();
  var resizeTimer = null;
  window.addEventListener("resize", function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(labelScrollingTables, 150);
  });

  // Notice: the print button.
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });

  // A form with errors: move focus to its summary so keyboard and screen-reader users land on it.
  var summary = document.getElementById("form-errors");
  if (summary) { summary.focus(); }
})();
