// The synced player. Words are server-rendered <span data-i data-s=START>;
// one delegated click handler seeks, a binary search over the start times
// finds the word being spoken, and highlighting toggles one class on one
// element, so a 30,000-word transcript costs no per-word listeners.

const article = document.getElementById("transcript");
const player = document.getElementById("player");
const SKIP_SECONDS = 5;

let spans = [];
let starts = new Float64Array(0);
let current = null;
let frame = 0;

export function reindex() {
  if (!article) return;
  spans = article.querySelectorAll("[data-i]");
  starts = new Float64Array(spans.length);
  for (let i = 0; i < spans.length; i++) starts[i] = parseFloat(spans[i].dataset.s);
  current = null;
  highlight(false);
}

// Index of the last word starting at or before `time` (-1 before the first).
function wordAt(time) {
  let low = 0;
  let high = starts.length - 1;
  let found = -1;
  while (low <= high) {
    const middle = (low + high) >> 1;
    if (starts[middle] <= time) {
      found = middle;
      low = middle + 1;
    } else {
      high = middle - 1;
    }
  }
  return found;
}

const stickyBar = document.querySelector(".reader-bar");

function visible(element) {
  const box = element.getBoundingClientRect();
  const top = stickyBar ? stickyBar.getBoundingClientRect().bottom : 0;
  return box.top >= top && box.bottom <= window.innerHeight - 20;
}

function highlight(follow, time = player ? player.currentTime : 0) {
  const index = wordAt(time + 0.001);
  const next = index >= 0 ? spans[index] : null;
  if (next === current) return;
  if (current) current.classList.remove("current");
  current = next;
  if (!current) return;
  current.classList.add("current");
  if (follow && !visible(current)) current.scrollIntoView({ block: "center" });
}

function loop() {
  highlight(true);
  frame = player.paused ? 0 : requestAnimationFrame(loop);
}

export function seek(seconds, { play = true } = {}) {
  if (!player) return;
  player.currentTime = seconds;
  highlight(true, seconds);
  if (play) player.play().catch(() => {});
}

function editing(target) {
  return target.closest("input, textarea, select, [contenteditable], button, dialog");
}

function onClick(event) {
  const target = event.target.closest("[data-s]");
  if (!target || !player || editing(event.target)) return;
  if (target.tagName === "A") event.preventDefault(); // without a player the ?t= link still works
  seek(parseFloat(target.dataset.s));
}

function onKey(event) {
  if (!player || event.ctrlKey || event.metaKey || event.altKey || editing(event.target)) return;
  if (event.key === " " || event.key === "k") {
    if (player.paused) player.play().catch(() => {});
    else player.pause();
  } else if (event.key === "ArrowLeft" || event.key === "j") {
    seek(Math.max(0, player.currentTime - SKIP_SECONDS), { play: !player.paused });
  } else if (event.key === "ArrowRight" || event.key === "l") {
    seek(player.currentTime + SKIP_SECONDS, { play: !player.paused });
  } else {
    return;
  }
  event.preventDefault();
}

function startAt() {
  const t = parseFloat(new URLSearchParams(window.location.search).get("t"));
  if (!Number.isFinite(t)) return;
  if (player) {
    const go = () => seek(t, { play: false });
    if (player.readyState >= 1) go();
    else player.addEventListener("loadedmetadata", go, { once: true });
  }
  // Show the passage even before (or without) the media.
  const index = wordAt(t + 0.001);
  if (index >= 0) {
    spans[index].classList.add("current");
    current = spans[index];
    current.scrollIntoView({ block: "center" });
  }
}

if (article) {
  reindex();
  article.addEventListener("click", onClick);
  document.addEventListener("transcript:changed", reindex);
  if (player) {
    document.addEventListener("keydown", onKey);
    player.addEventListener("play", () => {
      if (!frame) frame = requestAnimationFrame(loop);
    });
    player.addEventListener("timeupdate", () => highlight(!player.paused));
    player.addEventListener("seeked", () => highlight(true));
  }
  startAt();
}
