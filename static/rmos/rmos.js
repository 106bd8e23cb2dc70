// Progressive enhancement only: every page works without this file.
// - Focus goes to a form's problem summary even when the address has a #fragment.
// - Forms marked data-warn-unsaved ask before the page is left with edits that were not saved.
(function () {
  "use strict";
  function snapshot(form) {
    return new URLSearchParams(new FormData(form)).toString();
  }
  // Browsers skip autofocus when the address has a #fragment (the dashboard's editor posts to
  // #profile-editor) and focus the fragment instead, once the page has loaded; so once it has,
  // move focus to the problem summary or stale-edit notice.
  window.addEventListener("load", function () {
    var wanted = document.querySelector("[autofocus]");
    if (wanted && document.activeElement !== wanted) {
      wanted.focus();
    }
  });
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
