/* The queue's countdowns, kept current between reloads (progressive enhancement: the server already
   rendered each one). Every 30 s each unanswered request's minutes left are recomputed from its due
   time, and its state (on time / due soon / late) follows: due soon = 15 minutes or less left. */
(function () {
  "use strict";
  var list = document.querySelector("ul.queue");
  if (!list) return;
  var WARNING_MINUTES = 15;

  function span(minutes) {
    var m = Math.abs(minutes);
    if (m < 60) return m + " min";
    var rest = m % 60;
    return Math.floor(m / 60) + " h " + (rest < 10 ? "0" : "") + rest;
  }

  function tick() {
    var now = Date.now();
    list.querySelectorAll("li[data-due]").forEach(function (item) {
      if (item.hasAttribute("data-answered")) return;
      var minutes = Math.floor((Date.parse(item.dataset.due) - now) / 60000);
      var late = now > Date.parse(item.dataset.due);
      var state = late ? "late" : minutes < WARNING_MINUTES ? "due_soon" : "on_time";
      var counter = item.querySelector(".countdown");
      if (counter) {
        var template = late ? list.dataset.tLate : list.dataset.tLeft;
        counter.textContent = "· " + template.replace("%(time)s", span(late ? Math.max(1, -minutes) : minutes));
      }
      item.classList.remove("clock-on_time", "clock-due_soon", "clock-late");
      item.classList.add("clock-" + state);
      var badge = item.querySelector(".badge.clock");
      if (badge) {
        badge.className = "badge clock " + state;
        badge.textContent = state === "late" ? list.dataset.tLateState : list.dataset["t" + (state === "on_time" ? "On_time" : "Due_soon")];
      }
    });
  }
  setInterval(tick, 30000);
})();
