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

  // Add a card: the payment processor's hosted form, in a frame from its own origin. The
  // card number is typed there; the processor posts back only a token, which this page's
  // own form (with its CSRF token) sends to the portal.
  document.addEventListener("click", function (event) {
    if (!event.target.closest || !event.target.closest("#card-add-open")) { return; }
    var form = document.getElementById("card-add");
    var holder = document.getElementById("card-frame");
    var address = new URL(form.getAttribute("data-card-form"));
    address.searchParams.set("origin", window.location.origin);
    holder.textContent = "";
    var frame = document.createElement("iframe");
    frame.src = address.toString();
    frame.title = "Card details (payment processor)";
    holder.appendChild(frame);
    holder.hidden = false;
    event.target.closest("#card-add-open").style.display = "none";  // the form is open now
    window.addEventListener("message", function (message) {
      if (message.origin !== address.origin || message.source !== frame.contentWindow) { return; }
      var data = message.data || {};
      if (data.type !== "card-token" || typeof data.token !== "string") { return; }
      form.querySelector("input[name=token]").value = data.token;
      form.submit();
    });
  });

  document.addEventListener("DOMContentLoaded", function () { localise(document); });
  document.addEventListener("htmx:afterSwap", function (event) { localise(event.target); });
})();
