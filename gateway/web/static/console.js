// The console's progressive enhancement: local dates and money, progress on long forms.
// Everything works without it; htmx (htmx.min.js) adds in-place filtering and the 2FA step.
(function () {
  "use strict";
  var locale = navigator.language || "en-US";

  function localise(root) {
    root.querySelectorAll("time[data-local]").forEach(function (el) {
      var when = new Date(el.getAttribute("datetime"));
      if (isNaN(when)) { return; }
      var withTime = el.getAttribute("data-local") === "datetime";
      el.textContent = withTime ? when.toLocaleString(locale) : when.toLocaleDateString(locale, { timeZone: "UTC" });
    });
    root.querySelectorAll("[data-money]").forEach(function (el) {
      var value = Number(el.getAttribute("data-money"));
      if (isNaN(value)) { return; }
      try {
        el.textContent = new Intl.NumberFormat(locale, { style: "currency", currency: el.getAttribute("data-currency") }).format(value);
      } catch (e) { /* an unknown currency keeps the server's text */ }
    });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.classList || !form.classList.contains("busy-on-submit")) { return; }
    form.setAttribute("aria-busy", "true");
    var busy = form.querySelector(".busy");
    if (busy) { busy.hidden = false; }
    // Disabled after the submit has been taken: a second click sends nothing twice.
    setTimeout(function () {
      form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; });
    }, 0);
  });

  // A row action with a dialog of its own (data-dialog): ask there instead of on a page of its own.
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[data-dialog]");
    if (!link) { return; }
    var dialog = document.getElementById(link.getAttribute("data-dialog"));
    if (!dialog || typeof dialog.showModal !== "function") { return; }
    event.preventDefault();
    dialog.showModal();
  });

  document.addEventListener("DOMContentLoaded", function () { localise(document); });
  document.addEventListener("htmx:afterSwap", function (event) { localise(event.target); });
})();
