// The live queue: server-sent events from /console/events redraw the table. Every value is
// set with textContent, so whatever a person typed is shown as text, never run as HTML.
// A crisis that nobody holds raises a banner (label, waiting time and a link: no PHI), a
// flashing title and a short beep.
(function () {
  "use strict";
  var table = document.getElementById("queue");
  if (!table) return;
  var csrf = table.getAttribute("data-csrf");
  var admin = table.getAttribute("data-admin") === "yes";
  var body = table.querySelector("tbody");
  var status = document.getElementById("status");

  function cell(row, text) {
    var td = document.createElement("td");
    td.textContent = text;
    row.appendChild(td);
    return td;
  }

  function button(kind, label, id) {
    var b = document.createElement("button");
    b.className = kind;
    b.textContent = label;
    b.setAttribute("data-id", String(id));
    return b;
  }

  function waited(seconds) {
    if (seconds < 60) return seconds + " s";
    if (seconds < 3600) return Math.floor(seconds / 60) + " min";
    return Math.floor(seconds / 3600) + " h " + Math.floor((seconds % 3600) / 60) + " min";
  }

  function draw(items) {
    body.textContent = "";
    if (!items.length) {
      var empty = document.createElement("tr");
      empty.className = "empty";
      cell(empty, "Nobody is waiting.").colSpan = 8;
      body.appendChild(empty);
      return;
    }
    items.forEach(function (item) {
      var row = document.createElement("tr");
      row.className = item.kind;
      row.setAttribute("data-id", String(item.id));
      var link = document.createElement("a");
      link.href = "/console/conversation/" + item.id;
      link.textContent = item.label;
      cell(row, "").appendChild(link);
      cell(row, waited(item.waiting_seconds));
      cell(row, item.where);
      cell(row, item.screening || "–");
      cell(row, item.coverage || "–");
      cell(row, item.booking || "–");
      var code = document.createElement("code");
      code.textContent = item.conversation_id;
      cell(row, "").appendChild(code);
      var last = cell(row, item.claimed_by ? "With " + item.claimed_by : "");
      if (!item.claimed_by) last.appendChild(button("claim", "Claim", item.id));
      else if (admin) {
        last.appendChild(document.createTextNode(" "));
        last.appendChild(button("release", "Release", item.id));
      }
      body.appendChild(row);
    });
  }

  function post(url) {
    return fetch(url, {
      method: "POST",
      headers: { "X-CSRF-Token": csrf },
      credentials: "same-origin",
    }).then(function (r) {
      return r.json()
        .catch(function () { return {}; })
        .then(function (data) {
          if (!r.ok) throw new Error(data.error || String(r.status));
          return data;
        });
    });
  }

  body.addEventListener("click", function (event) {
    var target = event.target.closest("button.claim, button.release");
    if (!target) return;
    var id = target.getAttribute("data-id");
    target.disabled = true;
    if (target.classList.contains("release")) {
      post("/console/release/" + id)
        .then(function () { status.textContent = "Released: the conversation is open again."; })
        .catch(function (error) {
          status.textContent = "Not released: " + error.message;
          target.disabled = false;
        });
      return;
    }
    post("/console/claim/" + id)
      .then(function (result) {
        status.textContent = result.won
          ? "You have this conversation."
          : "Already with " + (result.holder || "someone else") + ".";
      })
      .catch(function () {
        status.textContent = "Could not claim it; try again.";
        target.disabled = false;
      });
  });

  // --- crisis alert ---------------------------------------------------------------------------
  var banner = document.getElementById("crisis-banner");
  var bannerText = document.getElementById("crisis-text");
  var bannerLink = document.getElementById("crisis-link");
  var TITLE = document.title;
  var ALERT_TITLE = "(!) Crisis – Intake console";
  var known = null; // ids of unheld crises in the last snapshot (null before the first)
  var shown = null; // the crisis the banner is about
  var flashing = null;
  var audio = null;

  function beep() {
    // Browsers may block sound until the page was clicked: then the banner has to do.
    try {
      var Context = window.AudioContext || window.webkitAudioContext;
      if (!Context) return;
      audio = audio || new Context();
      if (audio.state === "suspended") {
        var resumed = audio.resume();
        if (resumed && resumed.catch) resumed.catch(function () {});
      }
      var tone = audio.createOscillator();
      var gain = audio.createGain();
      tone.type = "square";
      tone.frequency.setValueAtTime(880, audio.currentTime);
      tone.frequency.setValueAtTime(660, audio.currentTime + 0.2);
      gain.gain.value = 0.1;
      tone.connect(gain);
      gain.connect(audio.destination);
      tone.start();
      tone.stop(audio.currentTime + 0.4);
    } catch (e) { /* no sound: the banner and the title still show */ }
  }

  // A click anywhere lets the page play sound later (autoplay rules).
  document.addEventListener("click", function unlock() {
    try {
      var Context = window.AudioContext || window.webkitAudioContext;
      if (Context && !audio) audio = new Context();
    } catch (e) { /* no audio */ }
  }, { once: true });

  function showCrisis(item, loud) {
    shown = item.id;
    bannerText.textContent = item.label + ", waiting " + waited(item.waiting_seconds) + ".";
    bannerLink.href = "/console/conversation/" + item.id;
    banner.hidden = false;
    if (flashing === null) {
      flashing = setInterval(function () {
        document.title = document.title === ALERT_TITLE ? TITLE : ALERT_TITLE;
      }, 1000);
      document.title = ALERT_TITLE;
    }
    if (loud) beep();
  }

  function hideCrisis() {
    shown = null;
    banner.hidden = true;
    clearInterval(flashing);
    flashing = null;
    document.title = TITLE;
  }

  document.getElementById("crisis-dismiss").addEventListener("click", hideCrisis);

  function watchCrises(items) {
    var open = items.filter(function (i) { return i.kind === "crisis" && !i.claimed_by; });
    var ids = open.map(function (i) { return i.id; });
    var fresh = known === null ? [] : open.filter(function (i) { return known.indexOf(i.id) < 0; });
    var first = known === null;
    known = ids;
    if (fresh.length) return showCrisis(fresh[0], true);
    if (first && open.length) return showCrisis(open[0], false); // already there on page load
    if (shown === null) return;
    var still = open.filter(function (i) { return i.id === shown; });
    if (still.length) showCrisis(still[0], false); // its waiting time
    else hideCrisis(); // someone took it, or it was closed
  }

  var events = new EventSource("/console/events");
  events.onmessage = function (message) {
    var items = JSON.parse(message.data);
    draw(items);
    watchCrises(items);
  };
  events.onerror = function () { status.textContent = "Reconnecting…"; };
  events.onopen = function () { status.textContent = ""; };
})();
