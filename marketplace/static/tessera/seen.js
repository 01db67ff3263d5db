// Creator insights: tells Tessera which search results were shown and which gallery pictures were looked at
// (page views are counted by the server). Sends ids only; the server honours Do-Not-Track / Global Privacy Control.
(() => {
  const endpoint = "/t/";
  const send = (payload) => {
    const body = JSON.stringify(payload);
    if (navigator.sendBeacon && navigator.sendBeacon(endpoint, new Blob([body], { type: "application/json" }))) return;
    fetch(endpoint, {
      method: "POST",
      body,
      headers: { "Content-Type": "application/json" },
      credentials: "same-origin",
      keepalive: true,
    }).catch(() => {});
  };

  const results = document.querySelector("[data-search-results]");
  if (results && results.dataset.searchResults) {
    const ids = [...results.querySelectorAll("[data-pattern-id]")]
      .map((card) => Number(card.dataset.patternId))
      .filter((id) => id > 0);
    if (ids.length) send({ type: "impressions", query: results.dataset.searchResults, patterns: ids });
  }

  const gallery = document.querySelector("[data-gallery][data-pattern-id]");
  if (gallery && "IntersectionObserver" in window) {
    const pattern = Number(gallery.dataset.patternId);
    const seen = new Set();
    let pending = [];
    let timer = 0;
    const flush = () => {
      if (!pending.length) return;
      send({ type: "previews", pattern, previews: pending });
      pending = [];
    };
    const observer = new IntersectionObserver(
      (entries) => {
        for (const entry of entries) {
          const id = Number(entry.target.dataset.previewId);
          if (!entry.isIntersecting || !(id > 0) || seen.has(id)) continue;
          seen.add(id);
          pending.push(id);
          clearTimeout(timer);
          timer = setTimeout(flush, 1000);
        }
      },
      { threshold: 0.6 },
    );
    gallery.querySelectorAll("[data-preview-id]").forEach((slide) => observer.observe(slide));
    addEventListener("pagehide", flush);
  }
})();
