// The quiz page: a question turned into "True or false" whose choices are still empty
// gets the choices "True" and "False".
"use strict";
document.addEventListener("change", (event) => {
  const kind = event.target;
  if (!kind.matches || !kind.matches("select[name^='questions-'][name$='-kind']")) return;
  if (kind.value !== "true_false") return;
  const prefix = kind.name.replace(/-kind$/, "-choices-");
  const texts = Array.from(
    document.querySelectorAll(`input[name^='${prefix}'][name$='-text']`)
  ).filter((input) => !input.name.includes("__prefix__") && !input.name.includes("-empty-"));
  if (texts.length < 2 || texts.some((input) => input.value.trim() !== "")) return;
  texts[0].value = "True";
  texts[1].value = "False";
  texts.slice(0, 2).forEach((input) => input.dispatchEvent(new Event("change", { bubbles: true })));
});
