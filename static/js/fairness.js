// Progressive enhancement only: a page with a job on the workers (a fairness audit, a search, a proxy check)
// shows its live progress and reloads when the job ends.
(function () {
  "use strict";
  var card = document.querySelector("[data-job-progress-url]");
  if (!card) return;
  var bar = card.querySelector("progress");
  var percent = card.querySelector("[data-progress-percent]");
  var message = card.querySelector("[data-progress-message]");
  function tick() {
    fetch(card.getAttribute("data-job-progress-url"), { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data) { setTimeout(tick, 3000); return; }
        bar.value = data.progress;
        bar.textContent = data.progress + "%";
        percent.textContent = data.progress;
        message.textContent = data.progress_message || "";
        if (data.status === "done" || data.status === "failed") { window.location.reload(); return; }
        setTimeout(tick, 1500);
      })
      .catch(function () { setTimeout(tick, 3000); });
  }
  setTimeout(tick, 1500);
})();
