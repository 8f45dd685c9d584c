// One conversation: the transcript arrives as server-sent events and is drawn with
// textContent only; the holder can reply, return the chat to the assistant, or resolve it.
(function () {
  "use strict";
  var section = document.getElementById("conversation");
  if (!section) return;
  var id = section.getAttribute("data-id");
  var csrf = section.getAttribute("data-csrf");
  var list = document.getElementById("transcript");
  var status = document.getElementById("status");
  var alertBox = document.getElementById("crisis-alert");
  var base = "/console/conversation/" + id;
  var WHO = { person: "Person", assistant: "Assistant", coordinator: "Intake team" };

  function draw(lines) {
    list.textContent = "";
    var crisis = false;
    lines.forEach(function (line) {
      var item = document.createElement("li");
      item.className = line.who + (line.crisis ? " crisis" : "");
      var who = document.createElement("strong");
      who.textContent = WHO[line.who] + (line.crisis ? " (crisis: " + line.crisis + ")" : "") + ": ";
      item.appendChild(who);
      item.appendChild(document.createTextNode(line.text));
      list.appendChild(item);
      if (line.crisis === "acute") crisis = true;
    });
    alertBox.hidden = !crisis;
  }

  function post(path, body) {
    return fetch(base + path, {
      method: "POST",
      headers: { "X-CSRF-Token": csrf, "Content-Type": "application/json" },
      credentials: "same-origin",
      body: JSON.stringify(body || {}),
    }).then(function (r) {
      return r.json()
        .catch(function () { return {}; })
        .then(function (data) { return { ok: r.ok, data: data }; });
    });
  }

  var form = document.getElementById("reply");
  if (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var box = document.getElementById("message");
      post("/message", { text: box.value }).then(function (result) {
        if (result.ok) { box.value = ""; status.textContent = ""; }
        else { status.textContent = (result.data && result.data.error) || "Not sent; try again."; }
      });
    });
    ["return", "resolve"].forEach(function (action) {
      document.getElementById(action).addEventListener("click", function () {
        post("/" + action).then(function (result) {
          status.textContent = result.ok
            ? (action === "return" ? "Returned to the assistant." : "Resolved.")
            : (result.data && result.data.error) || "That didn't work; try again.";
          if (result.ok) form.hidden = true;
        });
      });
    });
  }

  var claim = section.querySelector("button.claim");
  if (claim) {
    claim.addEventListener("click", function () {
      fetch("/console/claim/" + id, {
        method: "POST", headers: { "X-CSRF-Token": csrf }, credentials: "same-origin",
      }).then(function () { window.location.reload(); });
    });
  }

  var events = new EventSource(base + "/events");
  events.onmessage = function (message) { draw(JSON.parse(message.data)); };
})();
