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

  // Notice: the print button.
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });

  // A form with errors: move focus to its summary so keyboard and screen-reader users land on it.
  var summary = document.getElementById("form-errors");
  if (summary) { summary.focus(); }
})();
