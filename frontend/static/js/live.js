// The Live page: microphone -> AudioWorklet (16 kHz PCM16) -> binary frames
// on /ws/live/; partial captions replace each other, committed ones append.
// A dropped connection reconnects with backoff and resumes the same session
// (or starts a new one if the server cannot continue it); the server then
// sends the captions committed while the page was away. Errors from the
// server arrive as {type: "error"}.

import { apiRequest } from "./api.js";
import { followEngine } from "./capabilities.js";

const root = document.getElementById("live");
const $ = (id) => document.getElementById(id);

// Audio captured while the socket is not ready yet (the server is loading the
// local model or minting a token, or the connection is being re-established,
// perhaps to a server that restarted) is held and sent once it is: the first
// words after Start, and the words said while the page was away, used to be
// lost. The page holds audio for as long as the server may take to give the
// session back (data-hold-seconds, from realtime/services.py), and sends it
// back no faster than the server's buffer (data-buffer-seconds) takes it: a
// first burst of half of it, then CATCH_UP held frames with each new one.
const FRAME_SECONDS = 0.2; // the worklet's frames
const HELD_FRAMES = Math.ceil((Number(root.dataset.holdSeconds) || 40) / FRAME_SECONDS);
const BURST_FRAMES = Math.max(1, Math.floor((Number(root.dataset.bufferSeconds) || 5) / 2 / FRAME_SECONDS));
const CATCH_UP = 2; // held audio drains at three times real time

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

// A 16 kHz context, the recogniser's rate: the browser then resamples the
// microphone with a proper filter. A browser that refuses the rate gets its
// own, and the worklet filters and decimates.
function speechContext() {
  try {
    return new AudioContext({ sampleRate: 16000 });
  } catch {
    return new AudioContext();
  }
}

async function openMicrophone() {
  // Echo cancellation, noise suppression and gain control reshape the voice
  // and cost recognition accuracy on a clean microphone (measured through
  // Chromium: bench/live_browser.py); they are a choice, for a speakerphone
  // or a noisy room.
  const cleanup = $("live-cleanup").checked;
  state.stream = await navigator.mediaDevices.getUserMedia({
    audio: { echoCancellation: cleanup, noiseSuppression: cleanup, autoGainControl: cleanup, channelCount: 1 },
  });
  state.context = speechContext();
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
    if (state.held.length) {
      state.held.push(pcm); // in order, behind what is still held
      sendHeld(1 + CATCH_UP);
    } else {
      socket.send(pcm);
    }
  } else if (state.wanted) {
    state.held.push(pcm);
    if (state.held.length > HELD_FRAMES) state.held.shift(); // keep the latest
  }
}

function sendHeld(count) {
  for (let i = 0; i < count && state.held.length; i += 1) state.socket.send(state.held.shift());
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const params = new URLSearchParams({
    engine: $("live-engine").value,
    language: $("live-language").value,
    keyterms: $("live-keyterms").value.trim(),
  });
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
      sendHeld(BURST_FRAMES);
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
  $("live-engine").disabled = $("live-language").disabled = $("live-keyterms").disabled = $("live-cleanup").disabled = false;
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
  $("live-engine").disabled = $("live-language").disabled = $("live-keyterms").disabled = $("live-cleanup").disabled = true;
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
  const response = await apiRequest(links, { method: "POST", json: { expires: $("live-share-expires").value } });
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

followEngine($("live-form"), $("live-engine"), $("live-language"));
$("live-start").addEventListener("click", start);
$("live-stop").addEventListener("click", stop);
$("live-share-create").addEventListener("click", share);
