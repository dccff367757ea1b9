// Trawl console: live fragments, log follower, forms with the CSRF token, cron preview.
// Every HTML fragment comes escaped from the server; log lines and API messages are
// set as text, never as HTML.
(function () {
  "use strict";
  var meta = function (n) { var m = document.querySelector('meta[name="' + n + '"]'); return m ? m.content : ""; };
  var base = meta("trawl-base"), token = meta("trawl-csrf");

  // Regions with data-live="URL" are replaced by their fragment every data-every ms
  // (2 s), until a fragment carries data-final.
  function live(el) {
    var every = parseInt(el.getAttribute("data-every") || "2000", 10);
    function tick() {
      if (el.querySelector("[data-final]")) return;
      var a = document.activeElement;
      if (a && el.contains(a) && /^(INPUT|SELECT|TEXTAREA)$/.test(a.tagName)) {
        return setTimeout(tick, every);
      }
      fetch(el.getAttribute("data-live"), { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) { if (html !== null) el.innerHTML = html; })
        .catch(function () {})
        .then(function () { setTimeout(tick, every); });
    }
    setTimeout(tick, every);
  }
  document.querySelectorAll("[data-live]").forEach(live);

  // Forms with data-action post to {base}/console/do/{action} with the token.
  // Textareas _args / _settings hold NAME=VALUE lines.
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    var action = form.getAttribute("data-action");
    if (!action) return;
    ev.preventDefault();
    var confirmText = form.getAttribute("data-confirm");
    if (confirmText && !window.confirm(confirmText)) return;
    var data = new FormData();
    new FormData(form).forEach(function (v, k) {
      if (k === "_args" || k === "_settings") {
        String(v).split(/\r?\n/).forEach(function (line) {
          line = line.trim();
          if (!line) return;
          var i = line.indexOf("=");
          if (k === "_settings") data.append("setting", line);
          else if (i > 0) data.append(line.slice(0, i), line.slice(i + 1));
        });
      } else {
        data.append(k, v);
      }
    });
    var out = form.querySelector(".result");
    var show = function (text, ok) { if (out) { out.textContent = text; out.className = "result " + (ok ? "ok" : "error"); } };
    show("…", true);
    fetch(base + "/console/do/" + action, {
      method: "POST", body: data, credentials: "same-origin", headers: { "X-Trawl-CSRF": token }
    }).then(function (r) { return r.json(); }).then(function (j) {
      if (j.status !== "ok") return show(j.message || "error", false);
      if (form.getAttribute("data-go") === "job" && j.jobid) {
        location.href = base + "/console/job/" + encodeURIComponent(form.elements.project.value) + "/" + encodeURIComponent(j.jobid);
        return;
      }
      show(action === "cancel" ? "requested (was " + j.prevstate + ")" : "done", true);
      if (form.getAttribute("data-then") === "reload") setTimeout(function () { location.reload(); }, 400);
    }).catch(function (e) { show(String(e), false); });
  });

  // The job log: fetched from its /logs URL with Range from the last offset.
  var pre = document.getElementById("log");
  if (pre) {
    var url = pre.getAttribute("data-log"), offset = 0, lines = [], partial = "";
    var decoder = new TextDecoder("utf-8");
    var level = document.getElementById("log-level"), search = document.getElementById("log-search");
    var follow = document.getElementById("log-follow");
    var ranks = { DEBUG: 0, INFO: 1, WARNING: 2, ERROR: 3, CRITICAL: 4 };
    var lineLevel = /^\S+ \S+ \[[^\]]*\] (DEBUG|INFO|WARNING|ERROR|CRITICAL):/;
    var render = function () {
      var min = ranks[level.value] || 0, q = search.value.toLowerCase(), cur = 0, shown = [];
      lines.forEach(function (l) {
        var m = lineLevel.exec(l);
        if (m) cur = ranks[m[1]];
        if (cur >= min && (!q || l.toLowerCase().indexOf(q) >= 0)) shown.push(l);
      });
      pre.textContent = shown.slice(-5000).join("\n");
      if (follow.checked) pre.scrollTop = pre.scrollHeight;
    };
    level.addEventListener("change", render);
    search.addEventListener("input", render);
    var poll = function () {
      fetch(url, { credentials: "same-origin", headers: offset ? { Range: "bytes=" + offset + "-" } : {} })
        .then(function (r) {
          if (r.status === 200 && offset) { offset = 0; lines = []; partial = ""; }
          if (r.status !== 200 && r.status !== 206) return null;
          return r.arrayBuffer();
        })
        .then(function (buf) {
          if (!buf || !buf.byteLength) return;
          offset += buf.byteLength;
          var text = partial + decoder.decode(buf, { stream: true });
          var parts = text.split("\n");
          partial = parts.pop();
          lines = lines.concat(parts);
          render();
        })
        .catch(function () {})
        .then(function () { if (follow.checked || !offset) setTimeout(poll, 1500); else setTimeout(poll, 5000); });
    };
    poll();
  }

  // The cron preview follows the cron and time zone fields.
  var preview = document.getElementById("cron-preview");
  if (preview) {
    var form = preview.closest("form"), timer = null;
    var refresh = function () {
      var q = "?cron=" + encodeURIComponent(form.elements.cron.value) + "&timezone=" + encodeURIComponent(form.elements.timezone.value);
      fetch(preview.getAttribute("data-src") + q, { credentials: "same-origin" })
        .then(function (r) { return r.text(); }).then(function (h) { preview.innerHTML = h; });
    };
    form.querySelectorAll("[data-preview]").forEach(function (el) {
      el.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(refresh, 250); });
    });
  }
})();
