/* The dedicated chat button (issue 17). Plain JavaScript, no build step, no third party.
 * Embed: <script src="https://SERVICE/chat/widget.js" data-chat-token="TOKEN" async></script>
 * Everything shown comes from the service as data and is rendered with textContent, never as HTML.
 */
(function () {
  "use strict";
  var script = document.currentScript || document.querySelector("script[data-chat-token]");
  if (!script || !script.dataset.chatToken || window.__bookingChat) { return; }
  window.__bookingChat = true;
  var token = script.dataset.chatToken;
  var base = new URL(script.src, location.href).origin;
  var api = base + "/api/chat/" + encodeURIComponent(token);
  var lang = ((document.documentElement.lang || navigator.language || "en").slice(0, 2) === "fr") ? "fr" : "en";
  var T = {
    en: {available: "{n} is available", in_call: "{n} is on a call, back at {t}", away: "{n} is away right now",
         closed: "Chat is closed, back {t}", nobody: "Support chat", open: "Chat with your agent",
         name: "Name shown to your agent", email: "E-mail for the answer (optional)", text: "Message to your agent",
         send: "Send message",
         leave: "Leave a message", book: "Book a call", transcript: "E-mail me this conversation",
         sent: "Transcript on its way.", close: "Close", error: "Not sent, please try again.",
         read: "Read", delivered: "Sent", unavailable: "Your agent cannot answer live right now."},
    fr: {available: "{n} est disponible", in_call: "{n} est en appel, de retour à {t}", away: "{n} est absent pour le moment",
         closed: "Chat fermé, retour {t}", nobody: "Chat du support", open: "Discuter avec votre agent",
         name: "Nom affiché à votre agent", email: "E-mail pour la réponse (facultatif)",
         text: "Message à votre agent", send: "Envoyer le message",
         leave: "Laisser un message", book: "Réserver un appel", transcript: "Recevoir cette discussion par e-mail",
         sent: "Transcription envoyée.", close: "Fermer", error: "Non envoyé, réessayez.",
         read: "Lu", delivered: "Envoyé", unavailable: "Votre agent ne peut pas répondre en direct pour le moment."}
  }[lang];
  var storeKey = "booking-chat:" + token.slice(0, 12);
  var visitor = null;
  try { visitor = localStorage.getItem(storeKey); } catch (e) { visitor = null; }
  var state = {presence: null, last: 0, shown: {}, stream: null, poller: null};

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }
  function when(iso, withDay) {
    var d = new Date(iso), opts = {hour: "2-digit", minute: "2-digit", hourCycle: "h23"};
    if (withDay) { opts.weekday = "long"; }
    return new Intl.DateTimeFormat(lang, opts).format(d);
  }

  var host = el("div"); host.id = "booking-chat";
  var root = host.attachShadow ? host.attachShadow({mode: "open"}) : host;
  var css = el("link"); css.rel = "stylesheet"; css.href = base + "/static/chat/widget.css";
  var button = el("button", "chat-button"); button.type = "button"; button.setAttribute("aria-expanded", "false");
  var dot = el("span", "dot"); var label = el("span", "label", T.open);
  button.appendChild(dot); button.appendChild(label);
  var panel = el("section", "chat-panel"); panel.hidden = true; panel.setAttribute("aria-label", T.open);
  var status = el("p", "status"); status.setAttribute("role", "status");
  var offer = el("div", "offer"); offer.hidden = true;
  var offerText = el("p", "", T.unavailable);
  var book = el("a", "book", T.book); book.target = "_top";
  var leave = el("button", "leave", T.leave); leave.type = "button";
  offer.appendChild(offerText); offer.appendChild(book); offer.appendChild(leave);
  var list = el("ol", "messages"); list.setAttribute("aria-live", "polite");
  var form = el("form", "compose");
  function field(name, text, type) {
    var wrap = el("label", "field"), caption = el("span", "", text);
    var input = el(type === "textarea" ? "textarea" : "input");
    input.name = name; if (type !== "textarea") { input.type = type; }
    wrap.appendChild(caption); wrap.appendChild(input); form.appendChild(wrap);
    return input;
  }
  var nameInput = field("name", T.name, "text"), emailInput = field("email", T.email, "email");
  var textInput = field("text", T.text, "textarea"); nameInput.required = true; textInput.required = true;
  var send = el("button", "send", T.send); send.type = "submit"; form.appendChild(send);
  var error = el("p", "error"); error.hidden = true; error.setAttribute("role", "alert"); form.appendChild(error);
  var transcript = el("button", "transcript", T.transcript); transcript.type = "button"; transcript.hidden = true;
  var close = el("button", "close", "×"); close.type = "button"; close.setAttribute("aria-label", T.close);
  panel.appendChild(close); panel.appendChild(status); panel.appendChild(offer); panel.appendChild(list);
  panel.appendChild(form); panel.appendChild(transcript);
  root.appendChild(css); root.appendChild(button); root.appendChild(panel);
  (document.body || document.documentElement).appendChild(host);

  function showPresence(p) {
    state.presence = p;
    var name = p.agent ? p.agent.name : null, key = p.presence, text;
    if (!name && key !== "closed") { text = T.nobody + " · " + T.unavailable; }
    else if (key === "closed") { text = T.closed.replace("{t}", when(p.back_at, true)); }
    else if (key === "in_call") { text = T.in_call.replace("{n}", name).replace("{t}", when(p.back_at, false)); }
    else { text = T[key].replace("{n}", name); }
    label.textContent = text; status.textContent = text;
    host.dataset.presence = key; button.className = "chat-button " + key;
    var live = key === "available";
    offer.hidden = live;
    if (p.booking_url) { book.href = p.booking_url; book.hidden = false; } else { book.hidden = true; }
  }

  function render(m) {
    if (state.shown[m.id]) {
      var known = root.getElementById ? root.getElementById("m" + m.id) : null;
      if (known && m.read_at) { known.dataset.read = "true"; }
      return;
    }
    state.shown[m.id] = true;
    state.last = Math.max(state.last, m.id);
    var li = el("li", "message from-" + m.author); li.id = "m" + m.id;
    if (m.name) { li.appendChild(el("strong", "who", m.name)); }
    li.appendChild(el("span", "text", m.text));
    if (m.author === "visitor") {
      var receipt = el("span", "receipt", m.read_at ? T.read : T.delivered);
      li.appendChild(receipt);
    }
    list.appendChild(li);
    li.scrollIntoView({block: "nearest"});
    if (m.author !== "visitor" && !panel.hidden) { markRead(); }
    transcript.hidden = !visitor;
  }

  function headers() {
    var h = {"Content-Type": "application/json"};
    if (visitor) { h["X-Chat-Visitor"] = visitor; }
    return h;
  }
  function markRead() {
    if (!visitor || !state.last) { return; }
    fetch(api + "/read", {method: "POST", headers: headers(), body: JSON.stringify({up_to: state.last})});
  }

  function connect() {
    if (state.stream) { state.stream.close(); }
    if (!window.EventSource) { startPolling(); return; }
    var url = api + "/events" + (visitor ? "?visitor=" + encodeURIComponent(visitor) + "&last_event_id=" + state.last : "");
    var stream = new EventSource(url), failures = 0;
    state.stream = stream;
    stream.addEventListener("message", function (e) { failures = 0; render(JSON.parse(e.data)); });
    stream.addEventListener("presence", function (e) { failures = 0; showPresence(JSON.parse(e.data)); });
    stream.addEventListener("read", function (e) {
      var r = JSON.parse(e.data);
      if (r.by !== "agent") { return; }
      list.querySelectorAll(".from-visitor .receipt").forEach(function (node) { node.textContent = T.read; });
    });
    stream.onerror = function () { failures += 1; if (failures > 5) { stream.close(); startPolling(); } };
  }

  function startPolling() {
    if (state.poller) { return; }
    state.poller = setInterval(function () {
      fetch(api).then(function (r) { return r.json(); }).then(showPresence);
      if (!visitor) { return; }
      fetch(api + "/messages?after=" + state.last, {headers: headers()}).then(function (r) { return r.json(); })
        .then(function (data) { data.messages.forEach(render); });
    }, 5000);
  }

  function load() {
    fetch(api).then(function (r) { return r.ok ? r.json() : null; }).then(function (p) {
      if (!p) { host.remove(); return; }
      showPresence(p);
      if (!visitor) { connect(); return; }
      fetch(api + "/messages", {headers: headers()}).then(function (r) {
        if (r.status === 404) { visitor = null; try { localStorage.removeItem(storeKey); } catch (e) { /* private */ } return {messages: []}; }
        return r.json();
      }).then(function (data) { data.messages.forEach(render); connect(); });
    });
  }

  button.addEventListener("click", function () {
    panel.hidden = !panel.hidden;
    button.setAttribute("aria-expanded", String(!panel.hidden));
    if (!panel.hidden) { markRead(); (nameInput.value ? textInput : nameInput).focus(); }
  });
  close.addEventListener("click", function () { panel.hidden = true; button.setAttribute("aria-expanded", "false"); });
  leave.addEventListener("click", function () { textInput.focus(); });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    error.hidden = true;
    var body = {name: nameInput.value, text: textInput.value};
    if (emailInput.value) { body.email = emailInput.value; }
    fetch(api + "/messages?lang=" + lang, {method: "POST", headers: headers(), body: JSON.stringify(body)})
      .then(function (r) { return r.json().then(function (data) { return {ok: r.ok, data: data}; }); })
      .then(function (res) {
        if (!res.ok) { error.textContent = (res.data.error && res.data.error.message) || T.error; error.hidden = false; return; }
        textInput.value = "";
        if (res.data.visitor_key) {
          visitor = res.data.visitor_key;
          try { localStorage.setItem(storeKey, visitor); } catch (e) { /* private mode: this page only */ }
          render(res.data); connect();
        } else { render(res.data); }
      }, function () { error.textContent = T.error; error.hidden = false; });
  });
  transcript.addEventListener("click", function () {
    var address = emailInput.value || window.prompt(T.email);
    if (!address) { return; }
    fetch(api + "/transcript", {method: "POST", headers: headers(), body: JSON.stringify({email: address})})
      .then(function (r) { if (r.ok) { transcript.textContent = T.sent; } });
  });
  load();
})();
