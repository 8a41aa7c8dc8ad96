// The live part of the waiting and conversation pages: one websocket to
// /chat/live. The waiting page goes to the conversation when a match is made;
// the conversation page sends messages over the socket (the form still works
// without it), shows the partner's live, catches up after a reconnect and says
// when the partner left. Everything it shows arrives as text, never as HTML.
"use strict";
(function () {
  const root = document.querySelector("[data-live]");
  if (!root || !("WebSocket" in window)) return;
  const conversation = root.dataset.conversation || "";
  const me = root.dataset.me || "";
  let lastSeq = Number(root.dataset.lastSeq || "0");
  const list = root.querySelector("[data-testid=messages]");
  const form = root.querySelector("form.compose");
  const text = form && form.querySelector("textarea");
  const error = root.querySelector("[data-testid=error-text]");
  const ended = root.querySelector("[data-testid=ended]");
  const pending = new Map(); // client_id -> text, until acknowledged
  let socket = null;
  let backoff = 500;
  let closedForGood = false;
  let failures = 0; // connections in a row that never opened

  function url() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    return scheme + "//" + location.host + root.dataset.live;
  }

  function newClientId() {
    const bytes = new Uint8Array(12);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, function (b) { return b.toString(16).padStart(2, "0"); }).join("");
  }

  function showError(message) {
    if (!error) return;
    error.textContent = message;
    error.hidden = message === "";
  }

  function append(m) {
    if (!list || m.seq <= lastSeq) return;
    lastSeq = m.seq;
    const li = document.createElement("li");
    const mine = m.from === me;
    li.className = mine ? "message mine" : "message";
    li.dataset.seq = String(m.seq);
    li.setAttribute("data-testid", "message");
    const who = document.createElement("span");
    who.className = "who";
    who.textContent = mine ? "You" : "Them";
    const body = document.createElement("span");
    body.className = "text";
    body.textContent = m.text;
    const time = document.createElement("time");
    const at = new Date(m.sent_at);
    time.dateTime = at.toISOString();
    time.textContent = at.toISOString().slice(11, 16);
    li.append(who, body, time);
    list.append(li);
    li.scrollIntoView({ block: "nearest" });
  }

  function end() {
    closedForGood = true;
    if (ended) ended.hidden = false;
    if (form) form.hidden = true;
    document.querySelectorAll(".actions-panel").forEach(function (el) { el.hidden = true; });
    if (socket) socket.close(1000, "ended");
  }

  function send(frame) {
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify(frame));
      return true;
    }
    return false;
  }

  function connect() {
    socket = new WebSocket(url());
    let opened = false;
    socket.addEventListener("open", function () {
      opened = true;
      failures = 0;
      backoff = 500;
      if (!conversation) checkWaiting();
      if (conversation) {
        send({ type: "resume", conversation: conversation, after: lastSeq });
        pending.forEach(function (t, id) { send({ type: "send", conversation: conversation, client_id: id, text: t }); });
      }
    });
    socket.addEventListener("message", function (ev) {
      let f;
      try { f = JSON.parse(ev.data); } catch (e) { return; }
      switch (f.type) {
        case "matched":
          location.assign(f.url);
          break;
        case "message":
          if (f.conversation === conversation) append(f);
          break;
        case "ack":
          pending.delete(f.client_id);
          break;
        case "error":
          // A refused message goes back into the box, unless the user has
          // started the next one.
          if (f.client_id && pending.has(f.client_id)) {
            if (text && text.value === "") text.value = pending.get(f.client_id);
            pending.delete(f.client_id);
          }
          showError(f.error);
          break;
        case "ended":
          if (f.conversation === conversation) end();
          break;
        case "renamed":
          if (f.conversation === conversation) {
            document.querySelectorAll("[data-partner-name]").forEach(function (el) { el.textContent = f.name; });
          }
          break;
      }
    });
    socket.addEventListener("close", function (ev) {
      socket = null;
      if (closedForGood) return;
      if (!opened) failures++;
      if (ev.code === 4001 || ev.code === 1008 || failures >= 3) {
        // The user's access changed (a ban, a logout elsewhere, a rename) or
        // the socket is refused (an expired session): the page, loaded again,
        // shows what now holds, or sends the browser to log in.
        closedForGood = true;
        location.reload();
        return;
      }
      setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, 10000);
    });
  }

  if (form && text) {
    form.addEventListener("submit", function (ev) {
      const t = text.value.trim();
      if (t === "") { ev.preventDefault(); showError("A message cannot be empty."); return; }
      const id = newClientId();
      if (!send({ type: "send", conversation: conversation, client_id: id, text: t })) {
        return; // no socket: the form posts as it would without JavaScript
      }
      ev.preventDefault();
      pending.set(id, t);
      showError("");
      text.value = "";
      text.focus();
    });
    text.addEventListener("keydown", function (ev) {
      if (ev.key === "Enter" && !ev.shiftKey) { ev.preventDefault(); form.requestSubmit(); }
    });
  }

  // The waiting page asks again when its socket opens (a match made while the
  // page loaded was told to nobody) and now and then (a wait that ended), and
  // follows where the server sends it.
  function checkWaiting() {
    fetch("/chat/waiting", { credentials: "same-origin" }).then(function (r) {
      if (r.redirected && new URL(r.url).pathname !== "/chat/waiting") location.assign(r.url);
    }).catch(function () {});
  }
  if (!conversation) setInterval(checkWaiting, 15000);

  // The waiting page's clock.
  const waited = root.querySelector("[data-waited]");
  if (waited && root.dataset.since) {
    const since = new Date(root.dataset.since).getTime();
    setInterval(function () {
      const minutes = Math.floor((Date.now() - since) / 60000);
      waited.textContent = minutes < 1 ? "less than a minute" : minutes === 1 ? "1 minute" : minutes + " minutes";
    }, 5000);
  }
  connect();
})();
