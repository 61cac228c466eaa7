/* The agent's chat panel (issue 17): plain JavaScript, text only (textContent), CSRF on every POST. */
(function () {
  "use strict";
  var panel = document.getElementById("chat-panel");
  if (!panel) { return; }
  var csrf = panel.dataset.csrf, base = panel.dataset.base;
  var list = document.getElementById("chat-list"), empty = document.getElementById("chat-empty");
  var thread = document.getElementById("chat-thread"), title = document.getElementById("chat-thread-title");
  var box = document.getElementById("chat-messages"), form = document.getElementById("chat-form");
  var text = document.getElementById("chat-text"), notifyButton = document.getElementById("chat-notify");
  var current = null, shown = {};

  function post(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrf},
      body: JSON.stringify(body || {})
    });
  }

  function render(message) {
    if (shown[message.id]) { return; }
    shown[message.id] = true;
    var li = document.createElement("li");
    li.className = "chat-message from-" + message.author;
    li.id = "chat-message-" + message.id;
    var who = document.createElement("strong");
    who.textContent = (message.name || (message.author === "system" ? "—" : "")) + " ";
    var body = document.createElement("span");
    body.className = "chat-text";
    body.textContent = message.text;
    li.appendChild(who); li.appendChild(body);
    if (message.author === "agent") {
      var receipt = document.createElement("span");
      receipt.className = "chat-receipt";
      receipt.textContent = message.read_at ? " ✓✓" : " ✓";
      li.appendChild(receipt);
    }
    box.appendChild(li);
    li.scrollIntoView({block: "nearest"});
  }

  function markRead(id) {
    if (current && document.visibilityState === "visible") { post(base + "/" + current + "/read", {up_to: id}); }
  }

  function open(id) {
    current = id; shown = {}; box.textContent = "";
    fetch(base + "/" + id + "/messages", {credentials: "same-origin"}).then(function (r) { return r.json(); })
      .then(function (data) {
        title.textContent = data.conversation.visitor + " · " + data.conversation.customer;
        thread.hidden = false;
        data.messages.forEach(render);
        if (data.messages.length) { markRead(data.messages[data.messages.length - 1].id); }
        text.focus();
      });
  }

  function ensureListed(message) {
    if (list.querySelector('[data-id="' + message.conversation + '"]')) { return; }
    var li = document.createElement("li"), button = document.createElement("button");
    button.type = "button"; button.className = "chat-open"; button.dataset.id = message.conversation;
    button.textContent = (message.visitor || "") + " · " + (message.customer || "");
    li.appendChild(button); list.insertBefore(li, list.firstChild); empty.hidden = true;
  }

  list.addEventListener("click", function (event) {
    var button = event.target.closest(".chat-open");
    if (button) { open(Number(button.dataset.id)); }
  });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var value = text.value;
    if (!current || !value.trim()) { return; }
    post(base + "/" + current + "/messages", {text: value}).then(function (r) {
      if (r.ok) { text.value = ""; return r.json().then(render); }
    });
  });

  function notify(message) {
    if (!("Notification" in window) || Notification.permission !== "granted") { return; }
    if (document.visibilityState === "visible" && message.conversation === current) { return; }
    new Notification(message.name || "Chat", {body: message.text.slice(0, 140), tag: "chat-" + message.conversation});
  }

  if ("Notification" in window && Notification.permission === "default") {
    notifyButton.hidden = false;
    notifyButton.addEventListener("click", function () {
      Notification.requestPermission().then(function () { notifyButton.hidden = true; });
    });
  }

  var stream = new EventSource(panel.dataset.events);
  stream.addEventListener("message", function (event) {
    var message = JSON.parse(event.data);
    ensureListed(message);
    if (message.conversation === current) { render(message); if (message.author === "visitor") { markRead(message.id); } }
    if (message.author === "visitor") { notify(message); }
  });
  stream.addEventListener("read", function (event) {
    var receipt = JSON.parse(event.data);
    if (receipt.by !== "visitor" || receipt.conversation !== current) { return; }
    box.querySelectorAll(".from-agent .chat-receipt").forEach(function (node) { node.textContent = " ✓✓"; });
  });

  function beat() { post(panel.dataset.heartbeat); }
  setInterval(beat, 60000);
  document.addEventListener("visibilitychange", function () { if (document.visibilityState === "visible") { beat(); } });
})();
