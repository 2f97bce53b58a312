// Behaviour every page shares, in place of inline handlers (the
// Content-Security-Policy allows no onclick= or onsubmit=):
//   <form data-confirm="Question?">  asks before it is sent;
//   <form data-no-submit>           is never sent (a script drives it);
//   <input data-select-on-click>    selects its text when clicked or focused (a link to copy).
document.addEventListener("submit", (event) => {
  const form = event.target;
  // Edit forms (editor.js) ask their own question.
  if (!(form instanceof HTMLFormElement) || "edit" in form.dataset) return;
  if ("noSubmit" in form.dataset) {
    event.preventDefault();
  } else if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
    event.preventDefault();
  }
});

for (const kind of ["click", "focusin"]) {
  document.addEventListener(kind, (event) => {
    const input = event.target;
    if (input instanceof HTMLInputElement && "selectOnClick" in input.dataset) input.select();
  });
}
