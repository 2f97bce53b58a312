// A live link viewer: captions from /ws/live/view/<token>/, reconnecting if
// the connection drops; when the session ends the page reloads to show the
// saved transcript, and reloads again whenever the owner edits it. A close
// with 4404 means the link was revoked, expired or its transcript deleted:
// the page clears what it showed and stops.

const root = document.getElementById("viewer");
const $ = (id) => document.getElementById(id);
const ended = root.dataset.ended === "true";
const GONE = 4404;
let retries = 0;

function setState(name, text) {
  const el = $("viewer-state");
  el.dataset.state = name;
  el.textContent = text;
  el.hidden = false;
}

function append(text) {
  const span = document.createElement("span");
  span.className = "live-final";
  span.textContent = `${text} `;
  $("viewer-committed").append(span);
}

function onMessage(message) {
  if (message.type === "transcript") {
    location.reload(); // the owner edited the saved transcript: show it as it is now
  } else if (ended) {
    return; // the page already shows the saved transcript
  } else if (message.type === "backlog") {
    $("viewer-committed").replaceChildren();
    message.segments.forEach(append);
    if (message.ended) location.reload();
  } else if (message.type === "partial") {
    $("viewer-partial").textContent = message.text;
  } else if (message.type === "committed") {
    append(message.text);
    $("viewer-partial").textContent = "";
  } else if (message.type === "ended") {
    setState("ended", "Ended");
    setTimeout(() => location.reload(), 1500);
  }
  if (root.classList.contains("big")) window.scrollTo(0, document.body.scrollHeight);
}

function gone() {
  root.replaceChildren(Object.assign(document.createElement("p"), {
    className: "empty", id: "viewer-gone", textContent: "This link no longer works.",
  }));
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}${root.dataset.wsPath}`);
  socket.onopen = () => { retries = 0; if (!ended) setState("live", "Live"); };
  socket.onmessage = (event) => onMessage(JSON.parse(event.data));
  socket.onclose = (event) => {
    if (event.code === GONE) return gone();
    if (!ended && $("viewer-state").dataset.state === "ended") return;
    if (!ended) setState("reconnecting", "Connection lost, reconnecting…");
    setTimeout(connect, Math.min(1000 * 2 ** retries++, 15000));
  };
}

connect();
