/* Progressive enhancement only: every page works without this file.
   1. Show times in the visitor's own zone: when the server fell back to its default zone, detect the
      browser's zone and reload with ?tz= (the server then remembers it in a cookie).
   2. Changing the zone or the call length refreshes the times at once (no "Show the times" click).
   3. A booking button is disabled after the first click (the server's idempotency key is the real guard). */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function detectZone(form) {
    if (form.dataset.tzSource !== "default") return;
    var zone;
    try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return; }
    if (!zone || zone === form.dataset.tz) return;
    var select = form.querySelector("select[name=tz]");
    if (!select || !select.querySelector('option[value="' + zone.replace(/"/g, "") + '"]')) return;
    var url = new URL(window.location.href);
    url.searchParams.set("tz", zone);
    window.location.replace(url.toString());
  }

  // Arrow keys on a closed <select> fire "change" on every step in some browsers: wait for the
  // visitor to confirm (Enter) or leave the list before reloading, so keyboard users can browse it.
  var STEP_KEYS = ["ArrowUp", "ArrowDown", "PageUp", "PageDown", "Home", "End"];

  function autoSubmit(form) {
    var stepping = false;
    function submit() { stepping = false; form.requestSubmit ? form.requestSubmit() : form.submit(); }
    form.addEventListener("keydown", function (event) {
      if (event.target.tagName !== "SELECT") return;
      if (STEP_KEYS.indexOf(event.key) >= 0) stepping = true;
      else if (event.key === "Enter" && stepping) { event.preventDefault(); submit(); }
    });
    form.addEventListener("focusout", function (event) {
      if (event.target.tagName === "SELECT" && stepping) submit();
    });
    form.addEventListener("change", function (event) {
      if (event.target.tagName === "SELECT" && stepping) return;
      submit();
    });
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

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("button[data-copy]"), copyButton);
    var forms = document.querySelectorAll("form[data-autosubmit]");
    Array.prototype.forEach.call(forms, function (form) { detectZone(form); autoSubmit(form); });
    Array.prototype.forEach.call(document.querySelectorAll("button[data-once]"), once);
  });
})();
