// berth dashboard: live parts over one server-sent events stream per page.
// The server renders every fragment (escaped by html/template); this only
// swaps them in, and appends log lines as text.
"use strict";
(function () {
  var conn = document.getElementById("conn");
  function say(t) { if (conn) conn.textContent = t; }
  var main = document.getElementById("main");
  var topic = main && main.dataset.topic;
  var live = document.getElementById("live");
  var log = document.getElementById("log");
  if (!topic || !live || !window.EventSource) return;

  var es = new EventSource("/live/" + topic + (log ? "?logs=1" : ""));
  es.onopen = function () { say("live"); };
  es.onerror = function () { say("reconnecting…"); };
  window.addEventListener("pagehide", function () { es.close(); });
  es.addEventListener("fragment", function (e) {
    // Keep the keyboard focus on the same link across the swap.
    var f = document.activeElement, href = f && live.contains(f) ? f.getAttribute("href") : null;
    live.innerHTML = e.data;
    if (href) { var n = live.querySelector('[href="' + CSS.escape(href) + '"]'); if (n) n.focus(); }
    say("live");
  });
  if (!log) return;

  var follow = document.getElementById("follow"), state = document.getElementById("logstate");
  var paused = false, held = [], max = 1000, restart = false;
  function add(l) {
    var line = document.createElement("span");
    if (l.s === "err" || l.s === "berth") line.className = "err";
    line.textContent = (l.t ? l.t + " " : "") + (l.c ? l.c + " " : "") + l.x + "\n";
    log.appendChild(line);
    while (log.childNodes.length > max) log.removeChild(log.firstChild);
  }
  // A reconnect sends the last lines again: start the log over.
  es.addEventListener("open", function () { if (restart) { log.textContent = ""; held = []; } restart = true; });
  es.addEventListener("line", function (e) {
    var l = JSON.parse(e.data);
    if (paused) {
      held.push(l);
      if (held.length > max) held.shift();
      state.textContent = "paused, " + held.length + " new line(s)";
      return;
    }
    add(l);
    log.scrollTop = log.scrollHeight;
  });
  follow.addEventListener("click", function () {
    paused = !paused;
    follow.textContent = paused ? "Follow" : "Pause";
    follow.setAttribute("aria-pressed", String(!paused));
    if (!paused) { held.forEach(add); held = []; log.scrollTop = log.scrollHeight; }
    state.textContent = paused ? "paused" : "following";
  });
})();
