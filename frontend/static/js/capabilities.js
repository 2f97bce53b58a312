// Offer only what the chosen engine can do (the server refuses the rest):
// each option's block carries data-capability="…", the engine select picks
// the capabilities from the page's "engine-capabilities" JSON, and the
// language select keeps only that engine's languages.

export function engineCapabilities() {
  const script = document.getElementById("engine-capabilities");
  return script ? JSON.parse(script.textContent) : {};
}

function offerLanguages(select, offers) {
  if (!select) return;
  const allowed = new Set(offers.languages);
  for (const option of select.options) {
    const ok = option.value === "" ? offers.detects_language : allowed.has(option.value);
    option.hidden = option.disabled = !ok;
  }
  if (select.selectedOptions[0]?.disabled) {
    const first = [...select.options].find((option) => !option.disabled);
    if (first) select.value = first.value;
  }
}

function offerBlock(block, available) {
  block.hidden = !available;
  for (const input of block.querySelectorAll("input, textarea, select")) {
    input.disabled = !available;
    if (!available && input.type === "checkbox") input.checked = false;
  }
}

// Applies the capabilities of `engine` to the blocks inside `root`.
export function offer(root, offers, languageSelect) {
  if (!offers) return;
  for (const block of root.querySelectorAll("[data-capability]")) {
    const name = block.dataset.capability;
    if (name === "languages") continue;
    offerBlock(block, Boolean(offers[name]));
  }
  offerLanguages(languageSelect, offers);
  const speakers = root.querySelector('input[name="num_speakers"]');
  if (speakers) speakers.max = offers.max_speakers;
}

// Follows the engine select: applies its engine's capabilities now and on each change.
export function followEngine(root, engineSelect, languageSelect) {
  const all = engineCapabilities();
  const apply = () => offer(root, all[engineSelect.value], languageSelect);
  engineSelect.addEventListener("change", apply);
  apply();
}
