// Loads the 3D viewer (tessera/viewer.bundle.js, three.js included) only when a viewer scrolls into view or its
// "View in 3D" button is pressed; until then the figure shows the preview picture. Source of the bundle:
// marketplace/static_src/viewer/.
let bundle = null;

function open(figure, focus) {
  if (figure.dataset.viewerState) {
    if (focus) figure.querySelector("[data-viewer-stage]")?.focus();
    return;
  }
  figure.dataset.viewerState = "loading";
  const status = figure.querySelector("[data-viewer-status]");
  if (status) status.textContent = "Loading the 3D view…";
  bundle = bundle || import(figure.dataset.viewerBundle);
  bundle
    .then((module) => {
      module.mount(figure);
      if (focus) {
        const stage = figure.querySelector("[data-viewer-stage]");
        const whenReady = new MutationObserver(() => {
          if (figure.dataset.viewerReady) {
            whenReady.disconnect();
            stage?.focus();
          }
        });
        whenReady.observe(figure, { attributes: true, attributeFilter: ["data-viewer-ready"] });
      }
    })
    .catch(() => {
      figure.dataset.viewerState = "failed";
      if (status) status.textContent = "The 3D view could not be loaded; the pictures show the model.";
    });
}

const figures = document.querySelectorAll("[data-viewer]");
const observer =
  "IntersectionObserver" in window
    ? new IntersectionObserver(
        (entries) => {
          for (const entry of entries) {
            if (entry.isIntersecting) {
              observer.unobserve(entry.target);
              open(entry.target, false);
            }
          }
        },
        { threshold: 0.35 },
      )
    : null;
for (const figure of figures) {
  figure.querySelector("[data-viewer-open]")?.addEventListener("click", () => open(figure, true));
  observer?.observe(figure);
}
