// Progressive enhancement only: every page works without this file.
// - Focus goes to a form's problem summary even when the address has a #fragment.
// - Forms marked data-warn-unsaved ask before the page is left with edits that were not saved;
//   when the page only reloads itself with other parameters (loading a context in the snapshot
//   inspector, selecting a log row), the edits are carried over instead and shown again.
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
  var CARRIED = "rmos-unsaved-edits";
  // A form's identity across reloads: the page and profile it posts to (its action keeps the
  // page's other parameters, which the reload changes) and the version it edits (a newer
  // version must not receive edits made to an older one).
  function formKey(form) {
    var action = new URL(form.getAttribute("action") || "", window.location.href);
    var version = form.querySelector("input[name=version]");
    return action.pathname + "|" + (action.searchParams.get("profile") || "") + "|" + (version ? version.value : "");
  }
  // A navigation that reloads this page with other parameters (not a jump to an anchor in it).
  // A GET form always reloads (its fields become the query); a link only when its query differs.
  function reloadsThisPage(url, byForm) {
    var target = new URL(url, window.location.href);
    return target.origin === window.location.origin && target.pathname === window.location.pathname &&
      (byForm || target.search !== window.location.search);
  }
  function restore(form) {
    var stored;
    try {
      stored = JSON.parse(window.sessionStorage.getItem(CARRIED) || "null");
      window.sessionStorage.removeItem(CARRIED);
    } catch (error) {
      return false;
    }
    // Carried a moment ago by this form on this tab; an older leftover (a navigation that did
    // not happen) is not brought back.
    var fresh = stored && Date.now() - (stored.at || 0) < 120000;
    if (!fresh || stored.key !== formKey(form) || form.hasAttribute("data-unsaved")) {
      return false;
    }
    new URLSearchParams(stored.values).forEach(function (value, name) {
      var field = form.elements.namedItem(name);
      if (!field || field.type === "hidden") {
        return;
      }
      if (field.type === "checkbox") {
        field.checked = true;
      } else {
        field.value = value;
      }
    });
    // Checkboxes absent from the carried values were unticked.
    form.querySelectorAll("input[type=checkbox]").forEach(function (box) {
      if (!new URLSearchParams(stored.values).has(box.name)) {
        box.checked = false;
      }
    });
    var note = document.createElement("p");
    note.className = "notice";
    note.setAttribute("role", "status");
    note.textContent = "Your unsaved edits were kept while the page reloaded; they are not saved yet.";
    form.insertBefore(note, form.firstChild);
    return true;
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-warn-unsaved]").forEach(function (form) {
      // A form shown again with problems holds values that were never saved.
      var saved = form.hasAttribute("data-unsaved") ? null : snapshot(form);
      if (restore(form)) {
        saved = null;
      }
      var submitting = false;
      var carried = false;
      form.addEventListener("submit", function () { submitting = true; });
      function carry(url, byForm) {
        if (submitting || snapshot(form) === saved || !reloadsThisPage(url, byForm)) {
          return;
        }
        try {
          window.sessionStorage.setItem(CARRIED, JSON.stringify({ key: formKey(form), values: snapshot(form), at: Date.now() }));
          carried = true;
          // The page unloads at once when the navigation goes ahead; if it does not, warn again.
          window.setTimeout(function () { carried = false; }, 2000);
        } catch (error) {
          carried = false; // storage unavailable: the page asks before leaving, as without this
        }
      }
      document.addEventListener("submit", function (event) {
        var other = event.target;
        if (other !== form && (other.method || "get").toLowerCase() === "get") {
          carry(other.action, true);
        }
      });
      document.addEventListener("click", function (event) {
        var link = event.target.closest("a[href]");
        var elsewhere = link && ((link.target && link.target !== "_self") || link.hasAttribute("download"));
        if (link && !elsewhere && !event.defaultPrevented && event.button === 0 && !event.metaKey && !event.ctrlKey && !event.shiftKey) {
          carry(link.href, false);
        }
      });
      window.addEventListener("beforeunload", function (event) {
        if (!submitting && !carried && snapshot(form) !== saved) {
          event.preventDefault();
          event.returnValue = "";
        }
      });
    });
  });
})();
