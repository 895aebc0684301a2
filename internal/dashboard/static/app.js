// berth dashboard: live parts over server-sent events. The server renders
// every fragment (escaped by html/template); this only swaps them in.
"use strict";
(function () {
  var conn = document.getElementById("conn");
  function say(t) { if (conn) conn.textContent = t; }

  var main = document.getElementById("main");
  var topic = main && main.dataset.topic;
  var live = document.getElementById("live");
  if (topic && live && window.EventSource) {
    var es = new EventSource("/live/" + topic);
    es.addEventListener("fragment", function (e) {
      // Keep the keyboard focus where it was across the swap.
      var f = document.activeElement, id = f && live.contains(f) ? f.getAttribute("href") : null;
      live.innerHTML = e.data;
      if (id) { var n = live.querySelector('[href="' + CSS.escape(id) + '"]'); if (n) n.focus(); }
      say("live");
    });
    es.onopen = function () { say("live"); };
    es.onerror = function () { say("reconnecting…"); };
  }

  var log = document.getElementById("log");
  if (log && window.EventSource) {
    var follow = document.getElementById("follow"), state = document.getElementById("logstate");
    var paused = false, held = [], max = 1000;
    function add(l) {
      var line = document.createElement("span");
      if (l.s === "err") line.className = "err";
      line.textContent = l.t + " " + (l.c ? l.c + " " : "") + l.x + "\n";
      log.appendChild(line);
      while (log.childNodes.length > max) log.removeChild(log.firstChild);
    }
    var ls = new EventSource(log.dataset.src);
    ls.addEventListener("line", function (e) {
      var l = JSON.parse(e.data);
      if (paused) { held.push(l); if (held.length > max) held.shift(); state.textContent = "paused, " + held.length + " new line(s)"; return; }
      add(l);
      log.scrollTop = log.scrollHeight;
    });
    ls.addEventListener("failed", function (e) { state.textContent = JSON.parse(e.data); ls.close(); });
    follow.addEventListener("click", function () {
      paused = !paused;
      follow.textContent = paused ? "Follow" : "Pause";
      follow.setAttribute("aria-pressed", String(!paused));
      if (!paused) { held.forEach(add); held = []; log.scrollTop = log.scrollHeight; }
      state.textContent = paused ? "paused" : "following";
    });
  }
})();
