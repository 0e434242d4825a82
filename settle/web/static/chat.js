/* Settle's chat widget: plain JS on Rasa's socket.io channel, no framework and no build step.
 * Needs the vendored socket.io client (window.io) loaded first. Exposes window.SettleChat.mount(options); one option,
 * `language` ("nl", "fr" or "en"), is the host page's language, sent with every message; another, `texts`, holds
 * every word the widget shows, in the page's language (the server renders them from its catalogs). */
(function () {
  "use strict";

  var HISTORY_CAP = 200;
  // Like Rasa's session_expiration_time (domain.yml): after an hour without a message, a shared computer
  // shows the next person an empty chat instead of the last customer's bills.
  var FORGET_AFTER_MS = 60 * 60 * 1000;
  var URL_PATTERN = /https?:\/\/[^\s<>"]+/g;
  var mounted = 0;

  // Storage can be full or switched off (private windows): the chat still works, it just forgets.
  function load(key, fallback) {
    try { var value = window.localStorage.getItem(key); return value === null ? fallback : JSON.parse(value); }
    catch (e) { return fallback; }
  }
  function save(key, value) {
    try { window.localStorage.setItem(key, JSON.stringify(value)); } catch (e) { /* not kept, still shown */ }
  }

  function forget(storageKey) {
    try {
      Object.keys(window.localStorage).forEach(function (key) {
        if (key.indexOf(storageKey + ":") === 0) window.localStorage.removeItem(key);
      });
    } catch (e) { /* nothing stored */ }
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      if (name === "text") node.textContent = attrs[name];
      else node.setAttribute(name, attrs[name]);
    });
    (children || []).forEach(function (child) { node.appendChild(child); });
    return node;
  }

  // Punctuation ending a sentence ("… here: https://x/pay/abc.") is not part of the address; ")" only unmatched.
  function trimUrl(url) {
    for (;;) {
      var end = url.charAt(url.length - 1);
      var unmatched = end === ")" && url.split("(").length < url.split(")").length;
      if (".,;:!?'\"]".indexOf(end) < 0 && !unmatched) return url;
      url = url.slice(0, -1);
    }
  }

  // Text and links as DOM nodes, never innerHTML, so a message can't inject markup.
  function linkify(text) {
    var nodes = [];
    var last = 0;
    text.replace(URL_PATTERN, function (match, offset) {
      var url = trimUrl(match);
      if (offset > last) nodes.push(document.createTextNode(text.slice(last, offset)));
      nodes.push(el("a", { href: url, target: "_blank", rel: "noopener noreferrer", text: url }));
      last = offset + url.length;
      return match;
    });
    if (last < text.length) nodes.push(document.createTextNode(text.slice(last)));
    return nodes;
  }

  // The app's signed token travels in the fragment (#token=…): browsers never send it to a server.
  function tokenFromFragment() {
    var match = /(?:^#|&)token=([^&]+)/.exec(window.location.hash);
    return match ? decodeURIComponent(match[1]) : null;
  }

  // A text of the widget by name; "%(name)s" in it is filled in. A host page without texts shows the names,
  // so a missing text is seen at once rather than shown in the wrong language.
  function textOf(texts, key, values) {
    var text = texts && typeof texts[key] === "string" ? texts[key] : key;
    Object.keys(values || {}).forEach(function (name) { text = text.split("%(" + name + ")s").join(values[name]); });
    return text;
  }

  function mount(options) {
    var opts = options || {};
    function t(key, values) { return textOf(opts.texts, key, values); }
    var n = ++mounted;
    var storageKey = opts.storageKey || "settle-chat";
    var floating = !opts.container;
    if (Date.now() - load(storageKey + ":seen", 0) > FORGET_AFTER_MS) forget(storageKey);
    var sessionId = load(storageKey + ":session", null);
    var history = sessionId ? load(storageKey + ":history:" + sessionId, []) : [];
    var socket = null;
    var ids = { panel: "settle-chat-panel-" + n, input: "settle-chat-input-" + n, title: "settle-chat-title-" + n };

    // The parts of the widget. The log is where messages appear; screen readers read new ones politely.
    var log = el("div", { "class": "settle-chat-log", role: "log", "aria-live": "polite", "aria-labelledby": ids.title });
    var status = el("p", { "class": "settle-chat-status", role: "status", "aria-live": "polite" });
    var input = el("input", { id: ids.input, type: "text", autocomplete: "off", maxlength: "1000", disabled: "" });
    var send = el("button", { type: "submit", "class": "settle-chat-send", disabled: "", text: t("send") });
    var form = el("form", { "class": "settle-chat-form" }, [
      el("label", { "for": ids.input, text: t("yourMessage") }), el("div", { "class": "settle-chat-row" }, [input, send]),
    ]);
    var close = el("button", { type: "button", "class": "settle-chat-close", "aria-label": t("close"), text: "×" });
    var heading = el("div", { "class": "settle-chat-header" }, [el("h2", { id: ids.title, text: t("title") })]);
    if (floating) heading.appendChild(close);
    var panel = el("section", { id: ids.panel, "class": "settle-chat-panel", "aria-labelledby": ids.title }, [heading, log, status, form]);
    var launcherNote = el("span", { "class": "settle-chat-vh" });
    var launcher = el("button", {
      type: "button", "class": "settle-chat-launcher", "aria-expanded": "false", "aria-controls": ids.panel,
    }, [document.createTextNode(t("launcher")), launcherNote]);

    if (floating) {
      panel.classList.add("settle-chat-floating");
      panel.hidden = true;
      var root = el("div", { "class": "settle-chat" }, [panel, launcher]);
      document.body.appendChild(root);
    } else {
      opts.container.classList.add("settle-chat");
      opts.container.appendChild(panel);
    }

    function isOpen() { return !floating || !panel.hidden; }

    // Opened by the customer, focus goes to the input; closed, back to the launcher (moveFocus).
    function setOpen(open, moveFocus) {
      if (!floating) return;
      panel.hidden = !open;
      launcher.setAttribute("aria-expanded", String(open));
      save(storageKey + ":open", open);
      if (open) {
        launcher.classList.remove("settle-chat-unread");
        launcherNote.textContent = "";
        log.scrollTop = log.scrollHeight;
        if (moveFocus) (input.disabled ? close : input).focus();
      } else if (moveFocus) {
        launcher.focus();
      }
    }

    function setStatus(text) { status.textContent = text; }

    function setReady(ready) {
      input.disabled = !ready;
      send.disabled = !ready;
      // Opened before the connection was there, focus waited on the close button: now it can go to the input.
      if (ready && isOpen() && document.activeElement === close) input.focus();
    }

    // One message in the log; `record` is what is stored, so the same function redraws history.
    // A person from the team (who: "agent") is shown with their name, in a style of its own, and read out
    // as "<name> from our team said:", never as the bot.
    function render(record) {
      var own = record.who === "user";
      var agent = record.who === "agent";
      var kind = own ? "settle-chat-user" : agent ? "settle-chat-agent" : "settle-chat-bot";
      var spoken = own ? t("youSaid") : agent ? t("agentSaid", { name: record.name }) : t("settleSaid");
      var message = el("div", { "class": "settle-chat-msg " + kind }, [el("span", { "class": "settle-chat-vh", text: spoken })]);
      if (agent) message.appendChild(el("span", { "class": "settle-chat-from", "aria-hidden": "true", text: t("agentFrom", { name: record.name }) }));
      var body = el("p", {}, own ? [document.createTextNode(record.text)] : linkify(record.text));
      message.appendChild(body);
      log.appendChild(message);
      if (record.buttons && record.buttons.length) renderButtons(record);
      log.scrollTop = log.scrollHeight;
    }

    function renderButtons(record) {
      var row = el("div", { "class": "settle-chat-buttons", role: "group", "aria-label": t("suggestions") });
      record.buttons.forEach(function (button) {
        var node = el("button", { type: "button", text: button.title });
        node.addEventListener("click", function () {
          if (input.disabled) return;  // not connected: keep the choice on screen for later
          sendMessage(button.payload, button.title);
          input.focus();  // the row disappears, so focus needs somewhere sensible to go
        });
        row.appendChild(node);
      });
      log.appendChild(row);
    }

    function remember(record) {
      history.push(record);
      history = history.slice(-HISTORY_CAP);
      if (sessionId) save(storageKey + ":history:" + sessionId, history);
      save(storageKey + ":seen", Date.now());
    }

    // Once the customer answers, earlier suggestions are out of date: drop them from screen and history.
    function dropButtons() {
      Array.prototype.forEach.call(log.querySelectorAll(".settle-chat-buttons"), function (row) { row.remove(); });
      history.forEach(function (record) { delete record.buttons; });
    }

    function sendMessage(message, shown) {
      var text = (message || "").trim();
      if (!text || !socket || !sessionId) return;
      dropButtons();
      var record = { who: "user", text: shown || text };
      render(record);
      remember(record);
      var customData = opts.authToken ? { auth_token: opts.authToken } : {};
      // The page's language, when the page gives one (a site in French, the help page's language switch): Settle
      // answers in it. Without one, Settle follows what the customer types.
      if (opts.language) customData.language = opts.language;
      socket.emit("user_uttered", { message: text, session_id: sessionId, customData: customData });
    }

    // Settle may speak at any time: replies, a person from the agents' console, reminders.
    function receive(data) {
      if (!data) return;
      var text = data.text || "";
      // Rasa sends images and files as an address (or {payload: {src}}): shown as a link.
      var attachment = data.attachment;
      var src = typeof attachment === "string" ? attachment : attachment && attachment.payload && attachment.payload.src;
      if (typeof src === "string") text = (text ? text + " " : "") + src;
      var buttons = (data.quick_replies || data.buttons || [])
        .filter(function (b) { return b && b.title && b.payload; })
        .map(function (b) { return { title: String(b.title), payload: String(b.payload) }; });
      if (!text && !buttons.length) return;
      var record = data.agent_name ? { who: "agent", name: String(data.agent_name), text: String(text) }
                                   : { who: "bot", text: String(text) };
      if (buttons.length) record.buttons = buttons;
      render(record);
      remember(record);
      if (!isOpen()) {
        launcher.classList.add("settle-chat-unread");
        launcherNote.textContent = t("newMessage");
      }
    }

    function confirmSession(data) {
      var confirmed = data && typeof data === "object" ? data.session_id : data;
      if (!confirmed) return;
      confirmed = String(confirmed);
      if (confirmed !== sessionId) {  // a new conversation: start from an empty log
        sessionId = confirmed;
        save(storageKey + ":session", sessionId);
        history = load(storageKey + ":history:" + sessionId, []);
        log.textContent = "";
        history.forEach(render);
      }
      setStatus("");
      setReady(true);
    }

    function connect() {
      if (typeof window.io !== "function") {
        setStatus(t("unavailable"));
        return;
      }
      setStatus(t("connecting"));
      socket = window.io(opts.socketUrl, { transports: ["websocket"], path: "/socket.io" });
      // Asking for the stored session on every (re)connect puts us back in the same conversation. The server
      // signs the ids it issues: one it did not issue (or an old, unsigned one) gets a new conversation, and
      // session_confirm tells which; until then the input stays disabled.
      socket.on("connect", function () { socket.emit("session_request", { session_id: sessionId }); });
      socket.on("session_confirm", confirmSession);
      socket.on("bot_uttered", receive);
      socket.on("connect_error", function () {
        setReady(false);
        setStatus(t("unreachable"));
      });
      socket.on("disconnect", function (reason) {
        setReady(false);
        setStatus(t("reconnecting"));
        if (reason === "io server disconnect") socket.connect();  // the client won't retry this one by itself
      });
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      sendMessage(input.value);
      input.value = "";
    });
    launcher.addEventListener("click", function () { setOpen(panel.hidden, true); });
    close.addEventListener("click", function () { setOpen(false, true); });
    panel.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && floating) setOpen(false, true);
    });

    history.forEach(render);
    if (floating && (opts.open || load(storageKey + ":open", false))) setOpen(true, false);  // as the customer left it
    connect();
    return { send: sendMessage, open: function () { setOpen(true, true); }, close: function () { setOpen(false, true); } };
  }

  window.SettleChat = { mount: mount, tokenFromFragment: tokenFromFragment };

  // A page that carries a config block mounts the widget itself, so pages need no inline script.
  document.addEventListener("DOMContentLoaded", function () {
    var block = document.getElementById("settle-chat-config");
    if (!block) return;
    var config = JSON.parse(block.textContent);
    var token = tokenFromFragment();
    mount({
      socketUrl: config.socketUrl,
      storageKey: config.storageKey,
      language: config.language,
      texts: config.texts,
      authToken: token,
      open: Boolean(token),  // an app's web view opens this page to chat, so show the chat at once
    });
  });
})();
