// mailroom desk: keyboard shortcuts, nothing else. Every action is also a plain link, button or
// form that works without this file. The server marks each shortcut's element with data-key;
// this script finds it and clicks, focuses or arms it. `?` shows the list.
(function () {
  "use strict";

  var armed = null;
  var current = -1;

  function typing(t) {
    if (!t || !t.tagName) return false;
    var tag = t.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || t.isContentEditable;
  }

  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("[data-row]"));
  }

  function select(i) {
    var r = rows();
    if (!r.length) return;
    i = Math.max(0, Math.min(r.length - 1, i));
    if (current >= 0 && r[current]) r[current].classList.remove("selected");
    current = i;
    r[i].classList.add("selected");
    var link = r[i].querySelector("a");
    if (link) link.focus();
    r[i].scrollIntoView({ block: "nearest" });
  }

  function disarm() {
    if (armed) armed.classList.remove("armed");
    armed = null;
  }

  function arm(group) {
    disarm();
    armed = group;
    group.classList.add("armed");
    var first = group.querySelector("button");
    if (first) first.focus();
  }

  function help() {
    var d = document.getElementById("help");
    if (!d) return;
    if (d.open) d.close();
    else d.showModal();
  }

  document.addEventListener("keydown", function (e) {
    var t = e.target;
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey) && t && t.tagName === "TEXTAREA" && t.form) {
      e.preventDefault();
      t.form.requestSubmit();
      return;
    }
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === "Escape") {
      disarm();
      if (typing(t)) t.blur();
      return;
    }
    if (typing(t)) return;
    var k = e.key;
    if (k === "?") {
      e.preventDefault();
      help();
      return;
    }
    if (armed && /^[1-9]$/.test(k)) {
      var pick = armed.querySelector('[data-digit="' + k + '"]');
      disarm();
      if (pick) {
        e.preventDefault();
        pick.click();
      }
      return;
    }
    if ((k === "j" || k === "k") && rows().length) {
      e.preventDefault();
      select(current + (k === "j" ? 1 : -1));
      return;
    }
    if (k === "o" && current >= 0 && rows().length) {
      var link = rows()[current].querySelector("a");
      if (link) {
        e.preventDefault();
        link.click();
      }
      return;
    }
    if (!/^[a-zA-Z0-9\/\[\]]$/.test(k)) return;
    var el = document.querySelector('[data-key="' + k + '"]');
    if (!el) return;
    e.preventDefault();
    if (el.tagName === "FIELDSET") arm(el);
    else if (typing(el)) el.focus();
    else el.click();
  });

  // Copy buttons of suggested standard lines: hidden without script, where the text box
  // itself is selected and copied by hand.
  function copyButtons() {
    Array.prototype.forEach.call(document.querySelectorAll("button[data-copy]"), function (b) {
      var box = document.getElementById(b.getAttribute("data-copy"));
      if (!box) return;
      b.hidden = false;
      b.addEventListener("click", function () {
        box.select();
        var done = function () { b.textContent = "Copied"; };
        if (navigator.clipboard && navigator.clipboard.writeText) {
          navigator.clipboard.writeText(box.value).then(done, function () {
            if (document.execCommand("copy")) done();
          });
        } else if (document.execCommand("copy")) {
          done();
        }
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    copyButtons();
    var close = document.getElementById("help-close");
    if (close) {
      close.addEventListener("click", function () {
        document.getElementById("help").close();
      });
    }
  });
})();
