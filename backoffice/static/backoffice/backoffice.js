// The back office's few behaviours; every page still works without them.
document.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll("[data-print]")) {
    button.addEventListener("click", () => window.print());
  }
  // "Packed" waits for every unit to be scanned, unless the override is ticked.
  for (const override of document.querySelectorAll("[data-override-for]")) {
    const target = document.getElementById(override.dataset.overrideFor);
    const allPicked = target.dataset.allPicked === "true";
    const sync = () => { target.disabled = !(allPicked || override.checked); };
    override.addEventListener("change", sync);
    sync();
  }
});
