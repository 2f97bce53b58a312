// Find within the transcript: matches whole words in order (the last one by
// prefix, so results come while typing), marks them with a class and steps
// through them. The word list is read from the DOM once per change.

const article = document.getElementById("transcript");
const bar = document.getElementById("find");
const input = document.getElementById("find-input");
const count = document.getElementById("find-count");
const MAX_HITS = 5000;

let spans = [];
let words = [];
let hits = []; // [first span index, length]
let position = -1;
let timer = 0;

const normalise = (text) => text.toLowerCase().replace(/[^\p{L}\p{N}'’]+/gu, "");

function reindex() {
  spans = [...article.querySelectorAll("[data-i]")];
  words = spans.map((span) => normalise(span.textContent));
  run();
}

function clear() {
  for (const [first, length] of hits) {
    for (let k = 0; k < length; k++) spans[first + k]?.classList.remove("hit", "hit-current");
  }
  hits = [];
  position = -1;
}

function run() {
  clear();
  const terms = input.value.split(/\s+/).map(normalise).filter(Boolean);
  if (!terms.length) {
    count.textContent = "";
    return;
  }
  const last = terms.length - 1;
  for (let i = 0; i + last < words.length && hits.length < MAX_HITS; i++) {
    let k = 0;
    while (k < last && words[i + k] === terms[k]) k++;
    if (k === last && words[i + last].startsWith(terms[last])) hits.push([i, terms.length]);
  }
  for (const [first, length] of hits) {
    for (let k = 0; k < length; k++) spans[first + k].classList.add("hit");
  }
  count.textContent = hits.length ? `${hits.length}${hits.length >= MAX_HITS ? "+" : ""} found` : "No matches";
  if (hits.length) go(0);
}

function go(next) {
  if (!hits.length) return;
  if (position >= 0) mark(position, false);
  position = (next + hits.length) % hits.length;
  mark(position, true);
  spans[hits[position][0]].scrollIntoView({ block: "center" });
  count.textContent = `${position + 1} of ${hits.length}`;
}

function mark(index, on) {
  const [first, length] = hits[index];
  for (let k = 0; k < length; k++) spans[first + k].classList.toggle("hit-current", on);
}

if (article && bar) {
  bar.hidden = false;
  reindex();
  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(run, 120);
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      event.preventDefault();
      go(position + (event.shiftKey ? -1 : 1));
    } else if (event.key === "Escape") {
      input.value = "";
      run();
    }
  });
  bar.addEventListener("click", (event) => {
    const button = event.target.closest("[data-find]");
    if (button) go(position + (button.dataset.find === "next" ? 1 : -1));
  });
  bar.addEventListener("submit", (event) => event.preventDefault());
  document.addEventListener("transcript:changed", reindex);
  document.addEventListener("keydown", (event) => {
    if ((event.ctrlKey || event.metaKey) && event.key === "f" && !event.shiftKey) {
      event.preventDefault();
      input.focus();
      input.select();
    }
  });
}
