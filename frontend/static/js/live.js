// The Live page: microphone -> AudioWorklet (16 kHz PCM16) -> binary frames
// on /ws/live/; partial captions replace each other, committed ones append.
// A dropped connection reconnects with backoff and resumes the same session
// (or starts a new one if the server cannot continue it); the server then
// sends the captions committed while the page was away. Errors from the
// server arrive as {type: "error"}.

import { apiRequest } from "./api.js";

const root = document.getElementById("live");
const $ = (id) => document.getElementById(id);

// Audio captured while the socket is not ready yet (the server is loading the
// local model or minting a token, or the connection is being re-established)
// is held and sent once it is: the first words said after pressing Start
// used to be lost. Bounded well under the server's LIVE_MAX_BUFFER_SECONDS,
// since the held frames arrive there as one burst.
const HELD_FRAMES = 15; // 3 s of 200 ms frames

const state = {
  stream: null, context: null, node: null, socket: null, session: null,
  wanted: false, fatal: false, startedAt: 0, timer: null, retries: 0, ready: false,
  held: [], shown: 0, // committed captions of this session on the page
};

function setState(name, text) {
  const el = $("live-state");
  el.dataset.state = name;
  el.textContent = text;
}

function say(text, kind = "error") {
  const el = $("live-message");
  el.hidden = !text;
  el.textContent = text || "";
  el.dataset.kind = kind;
}

function micError(error) {
  if (error && (error.name === "NotAllowedError" || error.name === "SecurityError")) {
    return "Microphone access was denied. Allow the microphone for this site in the browser's address bar, then press Start again.";
  }
  if (error && (error.name === "NotFoundError" || error.name === "OverconstrainedError")) {
    return "No microphone was found. Connect one and press Start again.";
  }
  return `The microphone could not be opened (${error && error.name ? error.name : "unknown error"}).`;
}

async function openMicrophone() {
  state.stream = await navigator.mediaDevices.getUserMedia({
    audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true, channelCount: 1 },
  });
  const track = state.stream.getAudioTracks()[0];
  const rate = track.getSettings().sampleRate;
  state.context = rate ? new AudioContext({ sampleRate: rate }) : new AudioContext();
  await state.context.audioWorklet.addModule(root.dataset.worklet);
  const source = state.context.createMediaStreamSource(state.stream);
  state.node = new AudioWorkletNode(state.context, "pcm-16k");
  state.node.port.onmessage = ({ data }) => onAudio(data);
  const mute = state.context.createGain();
  mute.gain.value = 0; // keep the graph pulling without playing the microphone back
  source.connect(state.node).connect(mute).connect(state.context.destination);
}

function onAudio({ pcm, level }) {
  $("live-level-bar").style.width = `${Math.min(100, Math.round(level * 100))}%`;
  const socket = state.socket;
  if (socket && socket.readyState === WebSocket.OPEN && state.ready) {
    socket.send(pcm);
  } else if (state.wanted) {
    state.held.push(pcm);
    if (state.held.length > HELD_FRAMES) state.held.shift(); // keep the latest
  }
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const params = new URLSearchParams({ engine: $("live-engine").value, language: $("live-language").value.trim() });
  if (state.session) {
    params.set("resume", state.session);
    params.set("shown", state.shown);
  }
  const socket = new WebSocket(`${scheme}://${location.host}${root.dataset.wsPath}?${params}`);
  socket.binaryType = "arraybuffer";
  state.socket = socket;
  state.ready = false;
  setState("connecting", "Connecting…");
  socket.onmessage = (event) => { if (socket === state.socket) onMessage(JSON.parse(event.data)); };
  socket.onclose = () => onClose(socket);
}

function onMessage(message) {
  switch (message.type) {
    case "ready":
      for (const pcm of state.held) state.socket.send(pcm);
      state.held = [];
      state.ready = true;
      state.retries = 0;
      state.session = message.session;
      setState("live", "Live");
      $("live-share").hidden = false;
      if ($("live-message").dataset.kind === "warning") say("");
      break;
    case "partial":
      $("live-partial").textContent = message.text;
      break;
    case "committed": {
      const span = document.createElement("span");
      span.className = "live-final";
      span.textContent = `${message.text} `;
      $("live-committed").append(span);
      state.shown = message.index + 1;
      $("live-partial").textContent = "";
      break;
    }
    case "status": {
      // "connected", "reconnecting", "behind" (the captions lag the speech: "Captions are N s behind.")
      // or "finishing" (Stop waits for the captions of a backlog)
      const states = { connected: ["live", "Live"], behind: ["behind", "Behind"], finishing: ["behind", "Finishing…"] };
      const [name, label] = states[message.state] || ["reconnecting", "Reconnecting…"];
      setState(name, label);
      say(message.message, "warning");
      break;
    }
    case "error":
      if (message.code === "not_resumable") {
        state.session = null; // the reconnect after this close starts a new session
        state.shown = 0;
        return;
      }
      if (message.fatal) state.fatal = true;
      say(message.message, message.fatal ? "error" : "warning");
      break;
    case "ended":
      showSaved(message.url);
      break;
  }
}

function showSaved(url) {
  const saved = $("live-saved");
  saved.hidden = false;
  saved.replaceChildren("Saved to your library: ");
  const link = document.createElement("a");
  link.href = url;
  link.textContent = "open the transcript";
  saved.append(link);
}

function onClose(socket) {
  if (socket !== state.socket) return;
  state.ready = false;
  $("live-partial").textContent = "";
  if (!state.wanted || state.fatal) {
    finishCapture();
    return;
  }
  const delay = Math.min(1000 * 2 ** state.retries, 15000);
  state.retries += 1;
  setState("reconnecting", "Connection lost");
  say(`Connection lost. Reconnecting in ${Math.round(delay / 1000)} s… (the session goes on where it stopped)`, "warning");
  setTimeout(() => { if (state.wanted && !state.fatal) connect(); }, delay);
}

function finishCapture() {
  state.wanted = false;
  clearInterval(state.timer);
  if (state.stream) state.stream.getTracks().forEach((track) => track.stop());
  if (state.context) state.context.close();
  state.stream = state.context = state.node = null;
  $("live-level-bar").style.width = "0%";
  $("live-start").disabled = false;
  $("live-stop").disabled = true;
  $("live-engine").disabled = $("live-language").disabled = false;
  if ($("live-state").dataset.state !== "idle") setState("stopped", "Stopped");
}

function tick() {
  const seconds = Math.floor((Date.now() - state.startedAt) / 1000);
  $("live-elapsed").textContent = `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
}

async function start() {
  say("");
  $("live-saved").hidden = true;
  $("live-share-out").textContent = "";
  state.fatal = false;
  state.session = null;
  state.shown = 0;
  state.held = [];
  $("live-start").disabled = true;
  try {
    await openMicrophone();
  } catch (error) {
    say(micError(error));
    $("live-start").disabled = false;
    return;
  }
  state.wanted = true;
  state.startedAt = Date.now();
  state.timer = setInterval(tick, 500);
  $("live-stop").disabled = false;
  $("live-engine").disabled = $("live-language").disabled = true;
  $("live-committed").replaceChildren();
  connect();
}

function stop() {
  state.wanted = false;
  $("live-stop").disabled = true;
  setState("stopping", "Saving…");
  const socket = state.socket;
  if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: "stop" }));
  else finishCapture();
  // Stop capturing at once; the server finishes the last segment and saves.
  if (state.stream) state.stream.getTracks().forEach((track) => track.stop());
}

async function share() {
  if (!state.session) return;
  const links = `/live/sessions/${state.session}/links`;
  const response = await apiRequest(links, { method: "POST", json: {} });
  if (!response.ok) {
    $("live-share-out").textContent = "The live link could not be created.";
    return;
  }
  const link = await response.json();
  const out = $("live-share-out");
  out.replaceChildren();
  const input = Object.assign(document.createElement("input"), { value: link.url, readOnly: true, size: 50, id: "live-share-url" });
  const revoke = Object.assign(document.createElement("button"), { type: "button", className: "small", textContent: "Revoke" });
  revoke.onclick = async () => {
    await apiRequest(`${links}/${link.id}`, { method: "DELETE" });
    out.textContent = "Link revoked.";
  };
  out.append(input, " ", revoke);
}

$("live-start").addEventListener("click", start);
$("live-stop").addEventListener("click", stop);
$("live-share-create").addEventListener("click", share);
