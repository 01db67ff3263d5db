// Pattern page gallery: swipe (CSS scroll snap), thumbnails and arrow keys step through the pictures, a click,
// tap or Enter opens the full-size picture in a dialog (Esc, the Close button or a click outside closes it).
// Without JavaScript the pictures still scroll and each links to its full-size file.
for (const gallery of document.querySelectorAll("[data-gallery]")) {
  const track = gallery.querySelector(".gallery-track");
  const slides = [...gallery.querySelectorAll(".gallery-slide")];
  const thumbs = [...gallery.querySelectorAll(".gallery-thumb")];
  const dialog = gallery.querySelector("dialog.lightbox");
  const big = dialog ? dialog.querySelector(".lightbox-image") : null;
  const smooth = window.matchMedia("(prefers-reduced-motion: reduce)").matches ? "auto" : "smooth";

  const current = () => Math.round(track.scrollLeft / Math.max(track.clientWidth, 1));
  const mark = (index) => {
    thumbs.forEach((thumb, i) => {
      if (i === index) thumb.setAttribute("aria-current", "true");
      else thumb.removeAttribute("aria-current");
    });
  };
  // While a thumbnail or key scrolls the track, the picture it chose stays marked (not the ones passed on the way).
  let chosen = null;
  let release = 0;
  const show = (index, { focus = false } = {}) => {
    const target = Math.max(0, Math.min(slides.length - 1, index));
    chosen = target;
    clearTimeout(release);
    release = setTimeout(() => (chosen = null), 800); // browsers without the scrollend event
    track.scrollTo({ left: slides[target].offsetLeft, behavior: smooth });
    mark(target);
    if (focus) slides[target].querySelector("a").focus({ preventScroll: true });
  };
  track.addEventListener("scrollend", () => {
    chosen = null;
    mark(current());
  });

  let pending = false;
  track.addEventListener("scroll", () => {
    if (pending || chosen !== null) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      mark(current());
    });
  });
  thumbs.forEach((thumb, index) => thumb.addEventListener("click", () => show(index)));
  track.addEventListener("keydown", (event) => {
    const steps = { ArrowRight: 1, ArrowLeft: -1 };
    if (event.key in steps) {
      event.preventDefault();
      show(current() + steps[event.key], { focus: true });
    } else if (event.key === "Home" || event.key === "End") {
      event.preventDefault();
      show(event.key === "Home" ? 0 : slides.length - 1, { focus: true });
    }
  });

  if (!dialog || typeof dialog.showModal !== "function") continue;
  for (const link of gallery.querySelectorAll(".gallery-zoom")) {
    link.addEventListener("click", (event) => {
      event.preventDefault();
      const picture = link.querySelector("img");
      big.src = link.dataset.fullSrc;
      big.width = Number(link.dataset.fullWidth) || picture.naturalWidth;
      big.height = Number(link.dataset.fullHeight) || picture.naturalHeight;
      big.alt = picture.alt;
      dialog.showModal();
    });
  }
  dialog.addEventListener("click", (event) => {
    if (event.target === dialog || event.target === big) dialog.close();
  });
}
