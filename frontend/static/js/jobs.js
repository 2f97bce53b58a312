// Live job progress: listens on /ws/jobs/ and redraws every row with a
// matching data-job-id. Reconnects with backoff; after a reconnect it asks
// the server for the current state of the rows it shows, so nothing missed
// while offline stays stale. Job actions go through the API.

import { apiRequest, humanDuration } from "./api.js";

const ACTIVE = new Set(["queued", "transcribing", "waiting"]);
const listeners = new Set();

export function onJobUpdate(callback) {
  listeners.add(callback);
}

export function renderJob(row, job) {
  const part = (role) => row.querySelector(`[data-role="${role}"]`);
  row.dataset.status = job.status;
  const status = part("status");
  if (status) {
    status.textContent = job.status_label;
    status.className = `status status-${job.status}`;
  }
  const progress = part("progress");
  if (progress) {
    progress.hidden = !ACTIVE.has(job.status);
    progress.value = job.status === "done" ? 100 : job.progress;
  }
  const percent = part("percent");
  if (percent) {
    percent.hidden = job.status !== "transcribing";
    percent.textContent = `${Math.floor(job.progress)}%`;
  }
  const notice = part("notice");
  if (notice && job.notice !== undefined) {
    // "Waiting: Scribe is busy, next try at 14:05" while a job waits in the queue.
    notice.hidden = !job.notice;
    notice.textContent = job.notice || "";
  }
  const error = part("error");
  if (error) {
    error.hidden = !job.error || job.status === "cancelled";
    error.textContent = job.error || "";
  }
  const cancel = part("cancel");
  if (cancel) cancel.hidden = !ACTIVE.has(job.status);
  const retry = part("retry");
  if (retry) retry.hidden = !["failed", "cancelled"].includes(job.status);
  // A job from the socket carries display values; one from the API, raw ones.
  const duration = typeof job.duration === "number" ? humanDuration(job.duration) : job.duration;
  if (part("duration") && duration) part("duration").textContent = duration;
  if (part("language") && job.language) part("language").textContent = job.language;
  const link = row.querySelector(".title a");
  const url = job.url || job.urls?.page;
  if (link && url) link.href = url;
}

function applyUpdate(job) {
  for (const row of document.querySelectorAll(`[data-job-id="${job.id}"]`)) {
    renderJob(row, job);
  }
  for (const callback of listeners) callback(job);
  const table = document.querySelector("[data-reload-on-done]");
  if (table && job.status === "done" && table.querySelector(`[data-job-id="${job.id}"]`)) {
    window.location.reload();
  }
}

async function refreshShownJobs() {
  const ids = [...document.querySelectorAll("[data-job-id]")].map((row) => row.dataset.jobId);
  for (const id of new Set(ids)) {
    const response = await apiRequest(`/transcripts/${id}`);
    if (response.ok) applyUpdate(await response.json());
  }
}

export function connectJobs() {
  let delay = 500;
  const open = (isReconnect) => {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}/ws/jobs/`);
    socket.addEventListener("open", () => {
      delay = 500;
      document.body.dataset.jobsSocket = "open";
      if (isReconnect) refreshShownJobs();
    });
    socket.addEventListener("message", (event) => applyUpdate(JSON.parse(event.data)));
    socket.addEventListener("close", (event) => {
      document.body.dataset.jobsSocket = "closed";
      if (event.code === 4401) return; // signed out
      setTimeout(() => open(true), delay);
      delay = Math.min(delay * 2, 15000);
    });
  };
  open(false);
}

// Forms in job rows (cancel, retry) call the API and redraw the row; a job
// that had already moved on (409) is redrawn as it is now.
document.addEventListener("submit", async (event) => {
  const form = event.target;
  if (!form.matches('[data-role="cancel"], [data-role="retry"]')) return;
  const id = form.closest("[data-job-id]")?.dataset.jobId;
  if (!id) return;
  event.preventDefault();
  const response = await apiRequest(`/transcripts/${id}/${form.dataset.role}`, { method: "POST" });
  const current = response.ok ? response : await apiRequest(`/transcripts/${id}`);
  if (current.ok) applyUpdate(await current.json());
});

connectJobs();
