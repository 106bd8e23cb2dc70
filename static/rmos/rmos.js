// Progressive enhancement only: every page works without this file.
// Forms marked data-warn-unsaved ask before the page is left with edits that were not saved.
(function () {
  "use strict";
  function snapshot(form) {
    return new URLSearchParams(new FormData(form)).toString();
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-warn-unsaved]").forEach(function (form) {
      // A form shown again with problems holds values that were never saved.
      var saved = form.hasAttribute("data-unsaved") ? null : snapshot(form);
      var submitting = false;
      form.addEventListener("submit", function () { submitting = true; });
      window.addEventListener("beforeunload", function (event) {
        if (!submitting && snapshot(form) !== saved) {
          event.preventDefault();
          event.returnValue = "";
        }
      });
    });
  });
})();
