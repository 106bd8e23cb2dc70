// Progressive enhancement only: every page works without this file.
// - Focus goes to a form's problem summary even when the address has a #fragment.
// - Forms marked data-warn-unsaved ask before the page is left with edits that were not saved.
// - A click anywhere on a log or analytics row follows the row's select link (the seed's
//   "select-context on row click"); keyboard users use that link itself.
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
  document.addEventListener("click", function (event) {
    var row = event.target.closest("tr.log-row, tr.stats-row");
    if (!row || event.target.closest("a, button, input, select, textarea, summary, label")) {
      return;
    }
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) {
      return;
    }
    if (String(window.getSelection()).length) {
      return; // the user is selecting text to copy it
    }
    var link = row.querySelector("a.select-link");
    if (link) {
      link.click();
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
