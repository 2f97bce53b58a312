// The upload page: each chosen or dropped file is uploaded on its own, with
// its own progress bar (and a pause button); once stored, the row follows
// its job live.

import { followEngine } from "./capabilities.js";
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

// Each file goes up in pieces (the tus protocol, tus-js-client): a dropped
// connection is retried from the last piece the server holds, and after a
// page reload choosing the same file again resumes it (tus-js-client keeps
// each file's upload URL in localStorage, by name, type, size and date).
const RETRY_DELAYS_MS = [0, 1000, 3000, 5000, 10000, 20000, 30000];

function uploadOptions() {
  const fields = new FormData(form);
  const metadata = {};
  for (const [name, value] of fields) {
    if (name === "file" || name === "csrfmiddlewaretoken" || typeof value !== "string") continue;
    metadata[name] = name in metadata ? `${metadata[name]},${value}` : value;
  }
  for (const box of form.querySelectorAll('input[type="checkbox"]')) metadata[box.name] = box.checked ? "true" : "false";
  return metadata;
}

function setProgress(row, sent, total) {
  const percent = Math.floor((100 * sent) / total);
  row.querySelector('[data-role="progress"]').value = percent;
  row.querySelector('[data-role="percent"]').textContent = `${percent}%`;
  row.querySelector('[data-role="status"]').textContent = sent === total ? "Checking" : "Uploading";
}

function refusal(error) {
  const response = error.originalResponse;
  if (!response) return "The connection was lost during the upload. Choose the file again to resume it.";
  try {
    return JSON.parse(response.getBody()).error;
  } catch {
    return `The upload failed (HTTP ${response.getStatus()}).`;
  }
}

async function showJob(row, location) {
  const answer = await fetch(`${location}status/`, { headers: { Accept: "application/json" } });
  const job = await answer.json();
  row.dataset.jobId = job.id;
  row.querySelector('[data-role="name"]').outerHTML = `<a href="${job.url}"></a>`;
  row.querySelector(".title a").textContent = job.title;
  row.querySelector('[data-role="pause"]').hidden = true;
  renderJob(row, job);
}

function pauseButton(row, upload) {
  const button = row.querySelector('[data-role="pause"]');
  button.hidden = false;
  button.addEventListener("click", () => {
    if (button.dataset.paused) {
      delete button.dataset.paused;
      button.textContent = "Pause";
      row.querySelector('[data-role="status"]').textContent = "Uploading";
      upload.start();
    } else {
      button.dataset.paused = "yes";
      button.textContent = "Resume";
      row.querySelector('[data-role="status"]').textContent = "Paused";
      upload.abort();
    }
  });
}

function send(file, row) {
  return new Promise((resolve) => {
    const upload = new window.tus.Upload(file, {
      endpoint: form.dataset.tusEndpoint,
      chunkSize: Number(form.dataset.chunkBytes),
      retryDelays: RETRY_DELAYS_MS,
      metadata: { filename: file.name, filetype: file.type, ...uploadOptions() },
      headers: { "X-CSRFToken": form.querySelector("[name=csrfmiddlewaretoken]").value },
      removeFingerprintOnSuccess: true,
      onProgress: (sent, total) => setProgress(row, sent, total),
      onSuccess: async ({ lastResponse }) => {
        await showJob(row, lastResponse.getHeader("Transcript-Location"));
        resolve();
      },
      onError: (error) => {
        row.querySelector('[data-role="pause"]').hidden = true;
        showError(row, refusal(error));
        resolve();
      },
    });
    pauseButton(row, upload);
    upload.findPreviousUploads().then((previous) => {
      if (previous.length) {
        upload.resumeFromPreviousUpload(previous[0]);
        row.querySelector('[data-role="status"]').textContent = "Resuming";
      }
      upload.start();
    });
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
followEngine(form, form.querySelector('select[name="engine"]'), form.querySelector('select[name="language"]'));
