// The live queue: server-sent events from /console/events redraw the table. Every value is
// set with textContent, so whatever a person typed is shown as text, never run as HTML.
(function () {
  "use strict";
  var table = document.getElementById("queue");
  if (!table) return;
  var csrf = table.getAttribute("data-csrf");
  var body = table.querySelector("tbody");
  var status = document.getElementById("status");

  function cell(row, text) {
    var td = document.createElement("td");
    td.textContent = text;
    row.appendChild(td);
    return td;
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
      if (!item.claimed_by) {
        var button = document.createElement("button");
        button.className = "claim";
        button.textContent = "Claim";
        button.setAttribute("data-id", String(item.id));
        last.appendChild(button);
      }
      body.appendChild(row);
    });
  }

  body.addEventListener("click", function (event) {
    var button = event.target.closest("button.claim");
    if (!button) return;
    button.disabled = true;
    fetch("/console/claim/" + button.getAttribute("data-id"), {
      method: "POST",
      headers: { "X-CSRF-Token": csrf },
      credentials: "same-origin",
    })
      .then(function (r) {
        if (!r.ok) throw new Error(String(r.status));
        return r.json();
      })
      .then(function (result) {
        status.textContent = result.won
          ? "You have this conversation."
          : "Already with " + (result.holder || "someone else") + ".";
      })
      .catch(function () {
        status.textContent = "Could not claim it; try again.";
        button.disabled = false;
      });
  });

  var events = new EventSource("/console/events");
  events.onmessage = function (message) { draw(JSON.parse(message.data)); };
  events.onerror = function () { status.textContent = "Reconnecting…"; };
  events.onopen = function () { status.textContent = ""; };
})();
