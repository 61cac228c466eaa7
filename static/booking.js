/* Progressive enhancement only: every page works without this file (month and day are plain links,
   the zone a plain <select>, the filters a GET form with a "Show the times" button).
   1. Show times in the visitor's own zone: when the server fell back to its default zone, detect the
      browser's zone and reload with ?tz= (the server then remembers it in a cookie). The detected zone
      is also listed first in the zone list.
   2. A filter input narrows the zone list (city, country or zone name).
   3. Changing the zone or the call length refreshes the times at once (no "Show the times" click), and
      the reloaded page puts the focus back on the control that was used (its id in the URL fragment).
   4. Picking a day in the month calendar shows its times without a reload; the chosen time is
      summarised beside the submit button; "First available" picks that time.
   5. A booking button is disabled after the first click (the server's idempotency key is the real guard). */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function browserZone() {
    try { return Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { return ""; }
  }

  // The list holds canonical zones; Chromium may report an old alias (Asia/Calcutta), listed among
  // the option's search words.
  function optionFor(select, zone) {
    if (!zone) return null;
    var exact = select.querySelector('option[value="' + zone.replace(/["\\]/g, "") + '"]');
    if (exact) return exact;
    var wanted = " " + zone.toLowerCase() + " ";
    return Array.prototype.find.call(select.querySelectorAll("option"), function (option) {
      return (" " + (option.dataset.search || "") + " ").indexOf(wanted) >= 0;
    }) || null;
  }

  function detectZone(form) {
    if (form.dataset.tzSource !== "default") return false;
    var select = form.querySelector("select[name=tz]");
    var option = select ? optionFor(select, browserZone()) : null;
    if (!option || option.value === form.dataset.tz) return false;
    var url = new URL(window.location.href);
    url.searchParams.set("tz", option.value);
    window.location.replace(url.toString());
    return true;
  }

  function detectedFirst(select) {
    var original = optionFor(select, browserZone());
    if (!original) return;
    var group = document.createElement("optgroup");
    group.label = select.dataset.detectedLabel || "";
    group.setAttribute("data-detected", "");
    var copy = original.cloneNode(true);
    group.appendChild(copy);
    select.insertBefore(group, select.firstChild);
    if (original.selected) { copy.selected = true; }
  }

  function zoneFilter(form) {
    var box = form.querySelector(".zone-filter");
    var input = form.querySelector("#tz-filter");
    var select = form.querySelector("select[name=tz]");
    if (!box || !input || !select) return;
    box.hidden = false;
    var count = form.querySelector("#tz-filter-count");
    input.addEventListener("input", function () {
      var words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
      var shown = 0;
      Array.prototype.forEach.call(select.querySelectorAll("optgroup"), function (group) {
        var any = false;
        Array.prototype.forEach.call(group.querySelectorAll("option"), function (option) {
          var text = (option.textContent + " " + (option.dataset.search || "")).toLowerCase();
          var match = words.every(function (w) { return text.indexOf(w) >= 0; });
          option.hidden = !match;
          if (match) { any = true; if (!group.hasAttribute("data-detected")) shown += 1; }
        });
        group.hidden = !any;
      });
      if (count) count.textContent = words.length ? (count.dataset.template || "{n}").replace("{n}", String(shown)) : "";
    });
    input.addEventListener("keydown", function (event) {
      if (event.key !== "Enter") return;
      event.preventDefault();
      var first = select.querySelector("optgroup:not([hidden]):not([data-detected]) option:not([hidden])");
      if (first && first.value !== select.value) {
        select.value = first.value;
        submitFrom(form, input);
      }
    });
  }

  // Reload the filters' GET form with the used control's id as the fragment: focus comes back to it.
  function submitFrom(form, control) {
    if (control && control.id) form.action = window.location.pathname + "#" + control.id;
    if (form.requestSubmit) form.requestSubmit(); else form.submit();
  }

  // Arrow keys on a closed <select> fire "change" on every step in some browsers: wait for the
  // visitor to confirm (Enter) or leave the list before reloading, so keyboard users can browse it.
  var STEP_KEYS = ["ArrowUp", "ArrowDown", "PageUp", "PageDown", "Home", "End"];

  function autoSubmit(form) {
    var stepping = false;
    function submit(target) { stepping = false; submitFrom(form, target); }
    form.addEventListener("keydown", function (event) {
      if (event.target.tagName !== "SELECT") return;
      if (STEP_KEYS.indexOf(event.key) >= 0) stepping = true;
      else if (event.key === "Enter" && stepping) { event.preventDefault(); submit(event.target); }
    });
    form.addEventListener("focusout", function (event) {
      if (event.target.tagName === "SELECT" && stepping) submit(event.target);
    });
    form.addEventListener("change", function (event) {
      if (event.target.id === "tz-filter") return;
      if (event.target.tagName === "SELECT" && stepping) return;
      submit(event.target);
    });
  }

  function monthPicker(picker) {
    var form = document.getElementById(picker.dataset.form);
    var summary = form ? form.querySelector(".choice-text") : null;
    var noTimes = picker.querySelector("[data-no-times]");

    function showDay(day, href) {
      var found = false;
      Array.prototype.forEach.call(picker.querySelectorAll(".day[data-day]"), function (group) {
        var match = group.dataset.day === day;
        group.hidden = !match;
        found = found || match;
      });
      Array.prototype.forEach.call(picker.querySelectorAll("a.day-link"), function (link) {
        var match = link.dataset.day === day;
        link.classList.toggle("selected", match);
        if (match) link.setAttribute("aria-current", "true"); else link.removeAttribute("aria-current");
      });
      if (noTimes) noTimes.hidden = found;
      // The booking form's and the filters' hidden day: a zone change or a failed post keeps this day.
      Array.prototype.forEach.call(document.querySelectorAll("input[type=hidden][name=day]"), function (input) {
        input.value = day;
      });
      if (href && window.history.replaceState) window.history.replaceState(null, "", href.split("#")[0]);
      var slots = picker.querySelector(".day-slots");
      if (slots && slots.getBoundingClientRect().top > window.innerHeight - 80) {
        slots.scrollIntoView({ block: "nearest" });
      }
      return found;
    }

    picker.addEventListener("click", function (event) {
      var link = event.target.closest ? event.target.closest("a.day-link") : null;
      if (!link) return;
      event.preventDefault();
      showDay(link.dataset.day, link.getAttribute("href"));
    });
    picker.addEventListener("change", function (event) {
      if (event.target.name === "start" && summary) summary.textContent = event.target.dataset.summary || "";
    });

    var first = picker.parentNode.querySelector(".first-available a[data-slot]");
    if (first) {
      first.addEventListener("click", function (event) {
        var radio = form && form.querySelector('input[name=start][value="' + first.dataset.slot + '"]');
        if (!radio) return; // not rendered here: follow the link
        event.preventDefault();
        showDay(first.dataset.day, first.getAttribute("href"));
        radio.checked = true;
        radio.dispatchEvent(new Event("change", { bubbles: true }));
        radio.focus();
      });
    }
  }

  function once(button) {
    var form = button.form;
    if (!form) return;
    form.addEventListener("submit", function () {
      window.setTimeout(function () { button.disabled = true; }, 0);
    });
  }

  // 4. The admin console's "Copy the link" button (hidden without JS: the field can be selected).
  function copyButton(button) {
    var field = document.querySelector(button.dataset.copy);
    if (!field) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      field.select();
      if (navigator.clipboard) navigator.clipboard.writeText(field.value).catch(function () {});
      else document.execCommand("copy");
    });
  }

  // After a reload the URL fragment names the control the visitor used: focus it again.
  function restoreFocus() {
    var id = decodeURIComponent(window.location.hash.slice(1));
    var target = id ? document.getElementById(id) : null;
    if (target && typeof target.focus === "function") target.focus();
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("button[data-copy]"), copyButton);
    var forms = document.querySelectorAll("form[data-autosubmit]");
    var reloading = false;
    Array.prototype.forEach.call(forms, function (form) {
      reloading = detectZone(form) || reloading;
      var select = form.querySelector("select[name=tz]");
      if (select) detectedFirst(select);
      zoneFilter(form);
      autoSubmit(form);
    });
    Array.prototype.forEach.call(document.querySelectorAll("[data-month-picker]"), monthPicker);
    Array.prototype.forEach.call(document.querySelectorAll("button[data-once]"), once);
    if (!reloading) restoreFocus();
  });
})();
