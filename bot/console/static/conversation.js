// One conversation: the transcript arrives as server-sent events ({lines, typing}) and is
// drawn with textContent only; the holder can reply (the person sees "typing…" meanwhile),
// return the chat to the assistant, or resolve it; anyone who can read it can leave a
// private note; an admin can release someone else's claim, or delete the person's data.
(function () {
  "use strict";
  var section = document.getElementById("conversation");
  if (!section) return;
  var id = section.getAttribute("data-id");
  var csrf = section.getAttribute("data-csrf");
  var list = document.getElementById("transcript");
  var status = document.getElementById("status");
  var alertBox = document.getElementById("crisis-alert");
  var personTyping = document.getElementById("person-typing");
  var base = "/console/conversation/" + id;
  var WHO = { person: "Person", assistant: "Assistant", coordinator: "Intake team" };
  var TYPING_EVERY_MS = 2000; // the widget hides the hint after 6 s without a refresh

  function draw(data) {
    list.textContent = "";
    var crisis = false;
    data.lines.forEach(function (line) {
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
    personTyping.textContent = data.typing ? "The person is typing…" : "";
  }

  function post(url, body) {
    return fetch(url, {
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

  function failed(result, fallback) {
    return (result.data && result.data.error) || fallback;
  }

  var form = document.getElementById("reply");
  if (form) {
    var box = document.getElementById("message");
    var lastTyping = 0; // when "typing" was last sent; 0: the person sees no hint
    var typing = function (on) {
      lastTyping = on ? Date.now() : 0;
      post(base + "/typing", { typing: on }).catch(function () { /* only a hint */ });
    };
    box.addEventListener("input", function () {
      if (!box.value.trim()) {
        if (lastTyping) typing(false);
      } else if (Date.now() - lastTyping >= TYPING_EVERY_MS) {
        typing(true);
      }
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      post(base + "/message", { text: box.value }).then(function (result) {
        if (result.ok) {
          box.value = "";
          status.textContent = "";
          if (lastTyping) typing(false);
        } else {
          status.textContent = failed(result, "Not sent; try again.");
        }
      });
    });
    ["return", "resolve"].forEach(function (action) {
      document.getElementById(action).addEventListener("click", function () {
        post(base + "/" + action).then(function (result) {
          status.textContent = result.ok
            ? (action === "return" ? "Returned to the assistant." : "Resolved.")
            : failed(result, "That didn't work; try again.");
          if (result.ok) form.hidden = true;
        });
      });
    });
  }

  var release = document.getElementById("release");
  if (release) {
    release.addEventListener("click", function () {
      release.disabled = true;
      post("/console/release/" + id).then(function (result) {
        status.textContent = result.ok
          ? "Released: the conversation is open in the queue again."
          : failed(result, "Not released; try again.");
        release.disabled = result.ok;
      });
    });
  }

  var forget = document.getElementById("forget");
  if (forget) {
    forget.addEventListener("click", function () {
      if (!window.confirm("Delete everything this person left, in every conversation found by " +
          "their booking code, phone or email? This cannot be undone.")) return;
      forget.disabled = true;
      post("/console/forget/" + id).then(function (result) {
        if (!result.ok) {
          status.textContent = failed(result, "Nothing was deleted; try again.");
          forget.disabled = false;
          return;
        }
        events.close();
        list.textContent = "";
        status.textContent = "Deleted: " + result.data.conversations + " conversation(s), " +
          result.data.records + " records and " + result.data.tracker_events +
          " chat events. It is recorded in the audit trail.";
      });
    });
  }

  var noteForm = document.getElementById("note-form");
  noteForm.addEventListener("submit", function (event) {
    event.preventDefault();
    var noteBox = document.getElementById("note");
    post(base + "/notes", { text: noteBox.value }).then(function (result) {
      if (!result.ok) {
        status.textContent = failed(result, "Note not saved; try again.");
        return;
      }
      var item = document.createElement("li");
      var who = document.createElement("strong");
      who.textContent = result.data.author;
      var at = document.createElement("time");
      at.textContent = result.data.at;
      var text = document.createElement("span");
      text.className = "note-text";
      text.textContent = result.data.text;
      [who, at, text].forEach(function (part) {
        item.appendChild(part);
        item.appendChild(document.createTextNode(" "));
      });
      document.getElementById("note-list").appendChild(item);
      noteBox.value = "";
      status.textContent = "Note saved.";
    });
  });

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
