// The console's little JavaScript: pages work without it. It moves focus to a notice after an action (so a
// screen reader announces the outcome), shows only the inputs a work-item action needs, makes "Back" go back,
// and asks before a queue action is sent twice by a double click.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var notice = document.querySelector("[data-focus]");
    if (notice) { notice.focus(); }

    document.querySelectorAll("[data-back]").forEach(function (link) {
      link.addEventListener("click", function (event) {
        if (window.history.length > 1) { event.preventDefault(); window.history.back(); }
      });
    });

    document.querySelectorAll("select[data-kernel-action]").forEach(function (select) {
      var form = select.form;
      function sync() {
        form.querySelectorAll("[data-for]").forEach(function (input) {
          var shown = input.getAttribute("data-for") === select.value;
          input.hidden = !shown;
          input.required = shown;
        });
      }
      select.addEventListener("change", sync);
      sync();
    });

    document.querySelectorAll("form.act").forEach(function (form) {
      form.addEventListener("submit", function () {
        form.querySelectorAll("button").forEach(function (b) { b.disabled = true; b.setAttribute("aria-busy", "true"); });
      });
    });
  });
})();
