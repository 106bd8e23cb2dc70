// Progressive enhancement only: every page works without this file.
// - Focus goes to a form's problem summary even when the address has a #fragment.
// - Forms marked data-warn-unsaved ask before the page is left with edits that were not saved;
//   when the page only reloads itself with other parameters (loading a context in the snapshot
//   inspector, selecting a log row), the edits are carried over instead and shown again.
// - Opening or closing a dashboard section (<details data-section>) keeps the address's "open"
//   parameter in step, so a reload or a shared link shows the same sections.
// - A chart's parts (data-tip) show their value in a tooltip on hover and on keyboard focus.
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
  document.addEventListener("toggle", function (event) {
    var section = event.target;
    if (!section.matches || !section.matches("details[data-section]")) {
      return;
    }
    var all = Array.prototype.slice.call(document.querySelectorAll("details[data-section]"));
    var open = all.filter(function (d) { return d.open; }).map(function (d) { return d.getAttribute("data-section"); });
    var url = new URL(window.location.href);
    if (open.length === all.length) {
      url.searchParams.delete("open");
    } else {
      url.searchParams.set("open", open.join(",") || "none");
    }
    window.history.replaceState(window.history.state, "", url.toString());
  }, true);
  var tip = null;
  function showTip(part) {
    var title = part.querySelector("title");
    if (!title || !title.textContent) {
      return;
    }
    if (!tip) {
      tip = document.createElement("div");
      tip.className = "chart-tip";
      tip.setAttribute("role", "status");
      document.body.appendChild(tip);
    }
    tip.textContent = title.textContent;
    var box = part.getBoundingClientRect();
    tip.style.left = (window.scrollX + box.left + box.width / 2) + "px";
    tip.style.top = (window.scrollY + box.top - 6) + "px";
    tip.hidden = false;
  }
  function hideTip() {
    if (tip) {
      tip.hidden = true;
    }
  }
  ["mouseover", "focusin"].forEach(function (kind) {
    document.addEventListener(kind, function (event) {
      var part = event.target.closest ? event.target.closest("[data-tip]") : null;
      if (part) {
        showTip(part);
      }
    });
  });
  ["mouseout", "focusout"].forEach(function (kind) {
    document.addEventListener(kind, function (event) {
      if (event.target.closest && event.target.closest("[data-tip]")) {
        hideTip();
      }
    });
  });
  var CARRIED = "rmos-unsaved-edits";
  // The profile the editor edits: its action names it (the dashboard's editor posts to
  // ?…&profile=<name>); "" where the page itself is the profile's (its own address names it).
  function editedProfile(form) {
    return new URL(form.getAttribute("action") || "", window.location.href).searchParams.get("profile") || "";
  }
  // A form's identity across reloads: the page it posts to and the profile it edits.
  function formKey(form) {
    return new URL(form.getAttribute("action") || "", window.location.href).pathname + "|" + editedProfile(form);
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
    var values = new URLSearchParams(stored.values);
    var version = form.querySelector("input[name=version]");
    var current = version ? version.value : ""; // read first: a hidden input's value is its attribute
    var newer = current && values.get("version") && current !== values.get("version");
    values.forEach(function (value, name) {
      var field = form.elements.namedItem(name);
      if (!field || (field.type === "hidden" && name !== "version")) {
        return;
      }
      if (field.type === "checkbox") {
        field.checked = true;
      } else {
        field.value = value; // the version too: a save then meets the stale-edit check, not a silent overwrite
      }
    });
    // Checkboxes absent from the carried values were unticked.
    form.querySelectorAll("input[type=checkbox]").forEach(function (box) {
      if (!values.has(box.name)) {
        box.checked = false;
      }
    });
    var note = document.createElement("p");
    note.className = "notice" + (newer ? " notice-warning" : "");
    note.setAttribute("role", "status");
    note.textContent = newer
      ? "Your unsaved edits were kept while the page reloaded, but someone saved version " + current +
        " meanwhile: saving will show what changed before anything is overwritten."
      : "Your unsaved edits were kept while the page reloaded; they are not saved yet.";
    form.insertBefore(note, form.firstChild);
    return true;
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-warn-unsaved]").forEach(function (form) {
      // A form shown again with problems holds values that were never saved.
      // (Restored values count as unsaved until they equal what the server sent again.)
      var saved = form.hasAttribute("data-unsaved") ? null : snapshot(form);
      restore(form);
      var submitting = false;
      var carried = false;
      var profile = editedProfile(form);
      form.addEventListener("submit", function () { submitting = true; });
      // Carry the edits across a reload of this page that keeps the editor on its profile; a
      // navigation that names another profile (the editor's own picker) is a real leave.
      function carry(url, byForm, targetProfile) {
        if (submitting || snapshot(form) === saved || !reloadsThisPage(url, byForm)) {
          return false;
        }
        if (targetProfile && targetProfile !== profile) {
          return false;
        }
        try {
          window.sessionStorage.setItem(CARRIED, JSON.stringify({ key: formKey(form), values: snapshot(form), at: Date.now() }));
          carried = true;
          // The page unloads at once when the navigation goes ahead; if it does not, warn again.
          window.setTimeout(function () { carried = false; }, 2000);
        } catch (error) {
          carried = false; // storage unavailable: the page asks before leaving, as without this
        }
        return carried;
      }
      document.addEventListener("submit", function (event) {
        var other = event.target;
        if (other === form || (other.method || "get").toLowerCase() !== "get") {
          return;
        }
        var named = new FormData(other).get("profile");
        if (carry(other.action, true, named) && profile && !named) {
          // Without a profile the reloaded editor would open the one the new context uses.
          var keep = other.elements.namedItem("profile");
          if (!keep || !keep.tagName) {
            keep = document.createElement("input");
            keep.type = "hidden";
            keep.name = "profile";
            other.appendChild(keep);
          }
          keep.value = profile;
        }
      });
      document.addEventListener("click", function (event) {
        var link = event.target.closest("a[href]");
        var elsewhere = link && ((link.target && link.target !== "_self") || link.hasAttribute("download"));
        if (!link || elsewhere || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) {
          return;
        }
        var target = new URL(link.href, window.location.href);
        var named = target.searchParams.get("profile");
        if (carry(link.href, false, named) && profile && !named) {
          target.searchParams.set("profile", profile);
          link.href = target.toString();
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
