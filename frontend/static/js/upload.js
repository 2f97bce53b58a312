// The upload page: each chosen or dropped file is sent on its own request
// with its own progress bar; once stored, the row follows its job live.

import { csrfToken } from "./api.js";
import { renderJob } from "./jobs.js";

const form = document.getElementById("upload-form");
const input = document.getElementById("file-input");
const dropzone = document.getElementById("dropzone");
const table = document.getElementById("jobs");
const rows = document.getElementById("uploads");
const template = document.getElementById("upload-row");
const maxBytes = Number(form.dataset.maxBytes);
// Few uploads at once keep each bar moving and the server unhurried.
const PARALLEL_UPLOADS = 3;
const waiting = [];
let running = 0;

function humanSize(bytes) {
  const units = ["bytes", "KB", "MB", "GB"];
  let i = 0;
  while (bytes >= 1000 && i < units.length - 1) { bytes /= 1000; i += 1; }
  return i === 0 ? `${bytes} bytes` : `${bytes.toFixed(1)} ${units[i]}`;
}

function addRow(file) {
  const row = template.content.firstElementChild.cloneNode(true);
  row.querySelector('[data-role="name"]').textContent = file.name;
  row.querySelector('[data-role="size"]').textContent = humanSize(file.size);
  rows.prepend(row);
  table.hidden = false;
  return row;
}

function showError(row, message) {
  row.dataset.status = "failed";
  row.querySelector('[data-role="status"]').textContent = "Not uploaded";
  row.querySelector('[data-role="status"]').className = "status status-failed";
  row.querySelector('[data-role="progress"]').hidden = true;
  row.querySelector('[data-role="percent"]').hidden = true;
  const error = row.querySelector('[data-role="error"]');
  error.textContent = message;
  error.hidden = false;
}

function send(file, row) {
  const body = new FormData(form);
  body.delete("file");
  // The API takes a left-out option as its default: say "false" for an unticked box.
  for (const box of form.querySelectorAll('input[type="checkbox"]')) body.set(box.name, box.checked ? "true" : "false");
  body.append("file", file, file.name);
  const request = new XMLHttpRequest();
  request.open("POST", form.dataset.apiUrl);
  request.setRequestHeader("Accept", "application/json");
  request.setRequestHeader("X-CSRFToken", csrfToken());
  request.upload.addEventListener("progress", (event) => {
    if (!event.lengthComputable) return;
    const percent = Math.floor((100 * event.loaded) / event.total);
    row.querySelector('[data-role="progress"]').value = percent;
    row.querySelector('[data-role="percent"]').textContent = `${percent}%`;
    if (percent === 100) row.querySelector('[data-role="status"]').textContent = "Checking";
  });
  return new Promise((resolve) => {
    request.addEventListener("load", () => {
      let answer = {};
      try { answer = JSON.parse(request.responseText); } catch { /* not JSON */ }
      if (request.status === 202) {
        row.dataset.jobId = answer.id;
        row.querySelector('[data-role="name"]').outerHTML = `<a href="${answer.urls.page}"></a>`;
        row.querySelector(".title a").textContent = answer.title;
        renderJob(row, answer);
      } else {
        showError(row, answer.detail || answer.error || `The upload failed (HTTP ${request.status}).`);
      }
      resolve();
    });
    request.addEventListener("error", () => { showError(row, "The connection was lost during the upload."); resolve(); });
    request.send(body);
  });
}

function pump() {
  while (running < PARALLEL_UPLOADS && waiting.length) {
    const [file, row] = waiting.shift();
    running += 1;
    send(file, row).then(() => { running -= 1; pump(); });
  }
}

function accept(files) {
  for (const file of files) {
    const row = addRow(file);
    if (file.size > maxBytes) {
      showError(row, `This file is larger than the ${form.dataset.maxHuman} limit.`);
      continue;
    }
    waiting.push([file, row]);
  }
  pump();
}

input.addEventListener("change", () => { accept(input.files); input.value = ""; });
for (const name of ["dragenter", "dragover"]) {
  dropzone.addEventListener(name, (event) => { event.preventDefault(); dropzone.classList.add("over"); });
}
for (const name of ["dragleave", "drop"]) {
  dropzone.addEventListener(name, () => dropzone.classList.remove("over"));
}
dropzone.addEventListener("drop", (event) => { event.preventDefault(); accept(event.dataTransfer.files); });
form.addEventListener("submit", (event) => { event.preventDefault(); accept(input.files); });
