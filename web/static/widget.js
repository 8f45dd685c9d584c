/*
 * Website chat widget for the intake assistant. One tag embeds it:
 *   <script src="https://assistant.example.org/static/widget.js"
 *           data-server-url="https://assistant.example.org:5005" defer></script>
 * It talks to Rasa's socket.io channel (socket.io client 4, vendored by `make web`),
 * keeps the conversation for the life of the browser tab (sessionStorage: a shared
 * computer does not keep it after the tab closes), and loads nothing from third parties.
 * While a coordinator holds the chat, each side sees when the other is typing: the Rasa
 * server emits `coordinator_typing`, and the widget posts to the website's /chat/typing
 * (next to /static/, the same origin as this script).
 * A partner's invitation link opens the page with "#couple=<token>": the widget takes the
 * token out of the address bar at once and sends it with a "join" message. A "Quick exit"
 * button (payload /quick_exit, offered with the private safety questions) clears the chat
 * from the screen and from the tab's storage and leaves for data-exit-url.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) return;
  var serverUrl = (script.dataset.serverUrl || window.location.origin).replace(/\/$/, "");
  var staticBase = script.src.replace(/[^/]*$/, "");
  var title = script.dataset.title || "Questions? Chat with us";
  var storeKey = "iop-chat:" + serverUrl;
  var TYPING_QUIET_MS = 700;
  var TEAM_TYPING_MS = 6000; // the console refreshes it every ~2 s while the coordinator types
  var ASSISTANT_WAIT_MS = 10000;
  var TEAM_TYPING_TEXT = "Someone from the intake team is typing…";
  var PERSON_TYPING_EVERY_MS = 2000;
  var typingUrl = new URL("../chat/typing", staticBase).href;
  var exitUrl = script.dataset.exitUrl || "https://www.google.com/";
  var QUICK_EXIT = "/quick_exit";

  var state = load();
  var socket = null;
  var els = {};
  var typingTimer = null;
  var teamTypingTimer = null;
  var lastTypingPost = 0;

  function load() {
    try {
      var saved = JSON.parse(window.sessionStorage.getItem(storeKey) || "null");
      if (saved && Array.isArray(saved.messages)) return saved;
    } catch (e) { /* storage unavailable or corrupt: start fresh */ }
    return { sessionId: null, sessionToken: null, messages: [], open: false, greeted: false, quickExit: false };
  }

  function save() {
    try { window.sessionStorage.setItem(storeKey, JSON.stringify(state)); } catch (e) { /* private mode */ }
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") node.textContent = attrs[k];
      else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { node.appendChild(c); });
    return node;
  }

  // Text is inserted as text nodes; only URLs and the crisis numbers become links.
  var LINKABLE = /(https?:\/\/[^\s)]+[^\s).,;:!?])|\b(988|911)\b/g;
  function renderText(container, text) {
    var last = 0;
    text.replace(LINKABLE, function (match, url, phone, offset) {
      container.appendChild(document.createTextNode(text.slice(last, offset)));
      var a = url
        ? el("a", { href: url, target: "_blank", rel: "noopener noreferrer", text: url })
        : el("a", { href: "tel:" + phone, text: phone });
      container.appendChild(a);
      last = offset + match.length;
      return match;
    });
    container.appendChild(document.createTextNode(text.slice(last)));
  }

  function build() {
    var style = el("link", { rel: "stylesheet", href: staticBase + "widget.css" });
    document.head.appendChild(style);

    els.launcher = el("button", {
      type: "button", class: "iop-chat-launcher", "aria-expanded": "false",
      "aria-controls": "iop-chat-panel", text: title,
    });
    els.close = el("button", { type: "button", class: "iop-chat-close", "aria-label": "Close chat", text: "×" });
    els.exit = el("button", { type: "button", class: "iop-chat-exit", text: "Quick exit", hidden: "" });
    els.log = el("div", {
      class: "iop-chat-log", role: "log", "aria-live": "polite", "aria-relevant": "additions",
      "aria-label": "Conversation", tabindex: "0",
    });
    els.typing = el("div", { class: "iop-chat-typing", hidden: "", "aria-hidden": "true" },
      [el("span"), el("span"), el("span")]);
    els.status = el("div", { class: "iop-chat-visually-hidden", role: "status", "aria-live": "polite" });
    // Always in the page (empty when off), so screen readers announce the text when it comes.
    els.teamTyping = el("div", { class: "iop-chat-team-typing", "aria-live": "polite" });
    els.input = el("input", {
      id: "iop-chat-input", type: "text", autocomplete: "off", maxlength: "1000",
      placeholder: "Type your question…",
    });
    els.send = el("button", { type: "submit", class: "iop-chat-send", text: "Send" });
    els.form = el("form", { class: "iop-chat-form" }, [
      el("label", { for: "iop-chat-input", class: "iop-chat-visually-hidden", text: "Your message" }),
      els.input, els.send,
    ]);
    els.panel = el("div", {
      id: "iop-chat-panel", class: "iop-chat-panel", role: "dialog",
      "aria-label": "Chat with the program assistant", hidden: "",
    }, [
      el("div", { class: "iop-chat-header" }, [el("h2", { text: title }), els.exit, els.close]),
      el("p", { class: "iop-chat-notice" }, [
        document.createTextNode("Not an emergency service. In a crisis, call or text "),
        el("a", { href: "tel:988", text: "988" }),
        document.createTextNode(" or call "),
        el("a", { href: "tel:911", text: "911" }),
        document.createTextNode("."),
      ]),
      els.log, els.typing, els.teamTyping, els.status, els.form,
    ]);
    // Restore the tab's history before the log is live, so it is not read out again.
    state.messages.forEach(renderMessage);
    var root = el("div", { class: "iop-chat" }, [els.panel, els.launcher]);
    document.body.appendChild(root);

    els.launcher.addEventListener("click", function () { setOpen(!state.open); });
    els.close.addEventListener("click", function () { setOpen(false); els.launcher.focus(); });
    els.exit.addEventListener("click", quickExit);
    els.exit.hidden = !state.quickExit;
    els.panel.addEventListener("keydown", function (e) {
      if (e.key === "Escape") { setOpen(false); els.launcher.focus(); }
    });
    els.input.addEventListener("input", personTyping);
    els.form.addEventListener("submit", function (e) {
      e.preventDefault();
      var text = els.input.value.trim();
      if (!text) return;
      els.input.value = "";
      send(text, text);
    });

    setOpen(state.open);
    joinFromLink();
  }

  // "#couple=<token>": the partner's invitation. The token leaves the address bar (and so
  // the tab's history) before anything else, and is sent once, as the join message's metadata.
  function joinFromLink() {
    var match = /(?:^#|&)couple=([A-Za-z0-9_-]{32,100})(?:&|$)/.exec(window.location.hash || "");
    if (!match) return;
    try {
      window.history.replaceState(null, "", window.location.pathname + window.location.search);
    } catch (e) { window.location.hash = ""; }
    // A partner's own chat, never one this tab already holds (it could be the inviter's):
    // start afresh. The join is its first message: no greeting too (two first messages
    // sent at once may be answered in either order).
    if (state.messages.length || state.sessionId) {
      state = { sessionId: null, sessionToken: null, messages: [], open: false, greeted: false, quickExit: false };
      while (els.log.firstChild) els.log.removeChild(els.log.firstChild);
      if (socket) { socket.disconnect(); socket = null; connecting = false; }
    }
    state.greeted = true;
    save();
    send("/join_couple", "I'm joining my partner", { couple_token: match[1] });
    if (!state.open) setOpen(true);
  }

  // Leave at once and leave nothing on the screen or in the tab: the chat is cleared from the
  // page and from sessionStorage (a reload starts a new, empty chat), and the page is
  // replaced, so Back does not return to it. The assistant is told, to stop the questions.
  function quickExit() {
    try {
      if (socket && socket.connected && state.sessionToken) {
        socket.emit("user_uttered", { message: QUICK_EXIT, session_id: state.sessionToken, metadata: {} });
      }
    } catch (e) { /* leaving anyway */ }
    state = { sessionId: null, sessionToken: null, messages: [], open: false, greeted: false, quickExit: false };
    try { window.sessionStorage.removeItem(storeKey); } catch (e) { /* nothing kept */ }
    while (els.log.firstChild) els.log.removeChild(els.log.firstChild);
    els.panel.hidden = true;
    els.input.value = "";
    setTimeout(function () {
      if (socket) socket.disconnect();
      window.location.replace(exitUrl);
    }, 150);
  }

  function setOpen(open) {
    state.open = open;
    save();
    els.panel.hidden = !open;
    els.launcher.setAttribute("aria-expanded", String(open));
    els.launcher.classList.toggle("iop-chat-launcher-open", open);
    if (open) {
      connect();
      els.input.focus();
      scrollDown();
    }
  }

  function renderMessage(m) {
    var bubble = el("div", { class: "iop-chat-msg iop-chat-" + m.from });
    if (m.from === "bot") bubble.appendChild(el("span", { class: "iop-chat-visually-hidden", text: "Assistant: " }));
    else bubble.appendChild(el("span", { class: "iop-chat-visually-hidden", text: "You: " }));
    if (m.text) {
      var p = el("p");
      renderText(p, m.text);
      bubble.appendChild(p);
    }
    if (m.buttons && m.buttons.length) {
      var group = el("div", { class: "iop-chat-buttons", role: "group", "aria-label": "Suggested replies" });
      m.buttons.forEach(function (b) {
        var button = el("button", { type: "button", class: "iop-chat-button", text: b.title });
        if (m.answered) button.disabled = true;
        if (b.payload === QUICK_EXIT) {
          button.classList.add("iop-chat-button-exit");
          button.disabled = false; // always works, even on an answered question
          button.addEventListener("click", quickExit);
          group.appendChild(button);
          return;
        }
        button.addEventListener("click", function () {
          m.answered = true;
          save();
          Array.prototype.forEach.call(group.querySelectorAll("button"), function (x) { x.disabled = true; });
          send(b.payload, b.title);
        });
        group.appendChild(button);
      });
      bubble.appendChild(group);
    }
    els.log.appendChild(bubble);
    scrollDown();
  }

  function scrollDown() { els.log.scrollTop = els.log.scrollHeight; }

  function addMessage(m) {
    if ((m.buttons || []).some(function (b) { return b.payload === QUICK_EXIT; })) {
      state.quickExit = true; // from now on the header keeps a quick exit too
      els.exit.hidden = false;
    }
    state.messages.push(m);
    save();
    renderMessage(m);
  }

  function showTyping(on) {
    els.typing.hidden = !on;
    els.status.textContent = on ? "The assistant is typing" : "";
  }

  function showTeamTyping(on) {
    clearTimeout(teamTypingTimer);
    els.teamTyping.textContent = on ? TEAM_TYPING_TEXT : "";
    if (on) teamTypingTimer = setTimeout(function () { showTeamTyping(false); }, TEAM_TYPING_MS);
  }

  // Tells the website the person is typing, at most every 2 s; it is kept (and shown in the
  // console) only while a coordinator holds the chat. Only the conversation id is sent.
  function personTyping() {
    var now = Date.now();
    if (!state.sessionId || !els.input.value.trim() || now - lastTypingPost < PERSON_TYPING_EVERY_MS) return;
    lastTypingPost = now;
    try {
      fetch(typingUrl, {
        method: "POST", headers: { "Content-Type": "application/json" }, credentials: "omit",
        body: JSON.stringify({ session_id: state.sessionId }),
      }).catch(function () { /* only a hint */ });
    } catch (e) { /* no fetch: no hint */ }
  }

  function send(payload, shown, extra) {
    if (shown !== null) addMessage({ from: "user", text: shown });
    showTyping(true);
    // While a coordinator holds the chat the assistant is paused and never answers: the
    // dots must not promise a reply forever.
    clearTimeout(typingTimer);
    typingTimer = setTimeout(function () { showTyping(false); }, ASSISTANT_WAIT_MS);
    connect(function () {
      var meta = metadata();
      Object.keys(extra || {}).forEach(function (k) { meta[k] = extra[k]; });
      socket.emit("user_uttered", { message: payload, session_id: state.sessionToken, metadata: meta });
    });
  }

  // The browser's time zone, so appointment times are offered in the person's own time.
  function metadata() {
    try {
      return { timezone: Intl.DateTimeFormat().resolvedOptions().timeZone || "" };
    } catch (e) {
      return {};
    }
  }

  function onBotMessage(data) {
    var buttons = (data.quick_replies || data.buttons || []).map(function (b) {
      return { title: b.title, payload: b.payload };
    });
    if (data.text || buttons.length) addMessage({ from: "bot", text: data.text || "", buttons: buttons });
    showTeamTyping(false);
    clearTimeout(typingTimer);
    typingTimer = setTimeout(function () { showTyping(false); }, TYPING_QUIET_MS);
    showTyping(true);
  }

  var pending = [];
  var connecting = false;
  function connect(then) {
    if (then) pending.push(then);
    if (socket && state.sessionId && socket.connected) return flush();
    // One socket per tab: a second call while the client script is still loading (opening
    // the panel and sending at once) would otherwise start a second conversation.
    if (socket || connecting) return;
    connecting = true;
    withSocketIo(function (io) {
      socket = io(serverUrl, { path: "/socket.io", transports: ["websocket", "polling"] });
      socket.on("connect", function () {
        socket.emit("session_request", { session_id: state.sessionToken });
      });
      // The server hands out the session: a signed token "<conversation id>.<signature>".
      // It confirms ours after a reload, or starts a new conversation when ours is not valid.
      socket.on("session_confirm", function (data) {
        var token = typeof data === "string" ? data : data && data.session_id;
        if (token) {
          var id = token.split(".")[0];
          if (state.sessionId && id !== state.sessionId) state.greeted = false;
          state.sessionId = id;
          state.sessionToken = token;
        }
        save();
        if (!state.greeted) {
          state.greeted = true;
          save();
          showTyping(true);
          socket.emit("user_uttered", { message: "/greet", session_id: state.sessionToken, metadata: metadata() });
        }
        flush();
      });
      socket.on("bot_uttered", onBotMessage);
      socket.on("coordinator_typing", function (data) { showTeamTyping(!!(data && data.typing)); });
      socket.on("connect_error", function () {
        showTyping(false);
        els.status.textContent = "Connection problem, retrying…";
      });
    });
  }

  function flush() {
    if (!state.sessionId || !socket || !socket.connected) return;
    var run = pending;
    pending = [];
    run.forEach(function (fn) { fn(); });
  }

  function withSocketIo(callback) {
    if (window.io) return callback(window.io);
    var tag = el("script", { src: staticBase + "vendor/socket.io.min.js" });
    tag.onload = function () { callback(window.io); };
    tag.onerror = function () { // let the next message try again
      connecting = false;
      document.head.removeChild(tag);
      showTyping(false);
      els.status.textContent = "Connection problem, retrying…";
    };
    document.head.appendChild(tag);
  }

  // A partner's link pasted into a tab that already shows the site.
  window.addEventListener("hashchange", function () { if (els.log) joinFromLink(); });

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", build);
  else build();
})();
