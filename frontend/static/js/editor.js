// Editing on the transcript page. Double-click a word to correct it; click a
// turn's speaker to give the turn to another speaker; the Speakers panel
// renames a speaker everywhere. Each edit is one call to the API, sent with
// the version it was made on (If-Match): an edit made meanwhile elsewhere
// (another tab, a script) is not overwritten, the page says to reload. The
// server answers with the re-rendered transcript, which replaces the old one,
// and the player and find bar re-index.

import { apiRequest, problemMessage } from "./api.js";

const article = document.getElementById("transcript");
const editing = JSON.parse(document.getElementById("edit-urls")?.textContent || "{}");
const dialog = document.getElementById("turn-dialog");
const NEW_SPEAKER = "__new__";
let speakers = JSON.parse(document.getElementById("speakers-data")?.textContent || "[]");
let version = editing.version;

async function send(path, json) {
  const response = await apiRequest(`/transcripts/${editing.transcript}/result/${path}?include=html`, {
    method: "POST",
    json,
    headers: { "If-Match": `"${version}"` },
  });
  if (!response.ok) {
    window.alert(await problemMessage(response));
    return false;
  }
  const answer = await response.json();
  version = answer.version;
  apply(answer);
  return true;
}

function edit(operation, fields) {
  return send("edits", { operation, ...fields });
}

function apply(answer) {
  const scroll = window.scrollY;
  article.innerHTML = answer.html;
  window.scrollTo(0, scroll);
  speakers = answer.speakers;
  drawSpeakers();
  document.dispatchEvent(new CustomEvent("transcript:changed"));
}

function drawSpeakers() {
  const panel = document.getElementById("speakers");
  const template = panel?.querySelector("form[data-edit]");
  if (!template) return;
  const forms = speakers.map((speaker) => {
    const form = template.cloneNode(true);
    form.querySelector("[name=speaker_id]").value = speaker.id;
    const name = form.querySelector("[name=name]");
    name.value = speaker.name;
    name.setAttribute("aria-label", `Name for ${speaker.id}`);
    return form;
  });
  panel.replaceChildren(...forms);
}

// --- correcting words --------------------------------------------------------

function startCorrection(span) {
  const player = document.getElementById("player");
  if (player) player.pause();
  const input = document.createElement("input");
  input.className = "word-edit";
  // The letters only: the server keeps the word's punctuation unless new punctuation is typed.
  const letters = span.textContent.replace(/^[^\p{L}\p{N}_]+|[^\p{L}\p{N}_]+$/gu, "") || span.textContent;
  input.value = letters;
  input.size = Math.max(4, span.textContent.length + 2);
  input.setAttribute("aria-label", "Correct this word");
  span.hidden = true;
  span.after(input);
  input.focus();
  input.select();
  let done = false;
  const finish = async (save) => {
    if (done) return;
    done = true;
    if (save && input.value !== letters) {
      const index = span.dataset.i;
      if (await edit("correct_words", { first: Number(index), last: Number(index), text: input.value })) return;
    }
    input.remove();
    span.hidden = false;
  };
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter") finish(true);
    else if (event.key === "Escape") finish(false);
  });
  input.addEventListener("blur", () => finish(true));
}

// --- reassigning turns --------------------------------------------------------

function chooseSpeaker(turn) {
  const select = document.getElementById("turn-speaker");
  const options = speakers.map((speaker) => new Option(speaker.name, speaker.id));
  options.push(new Option("New speaker", NEW_SPEAKER));
  select.replaceChildren(...options);
  select.value = turn.dataset.speaker;
  dialog.returnValue = "";
  dialog.onclose = () => {
    if (dialog.returnValue !== "ok" || select.value === turn.dataset.speaker) return;
    const speaker = select.value === NEW_SPEAKER ? null : select.value;
    edit("reassign_turn", { first: Number(turn.dataset.first), last: Number(turn.dataset.last), speaker_id: speaker });
  };
  dialog.showModal();
}

if (article && article.hasAttribute("data-editable")) {
  article.addEventListener("dblclick", (event) => {
    const span = event.target.closest("[data-i]");
    if (span) {
      event.preventDefault();
      startCorrection(span);
    }
  });
  article.addEventListener("click", (event) => {
    const button = event.target.closest("[data-role=reassign]");
    if (button) chooseSpeaker(button.closest(".turn"));
  });
  document.addEventListener("submit", (event) => {
    const form = event.target.closest("form[data-edit]");
    if (!form) return;
    event.preventDefault();
    if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) return;
    const fields = Object.fromEntries(new FormData(form));
    if (form.dataset.edit === "revert") send("revert", {});
    else edit("rename_speaker", { speaker_id: fields.speaker_id, name: fields.name });
  });
}
