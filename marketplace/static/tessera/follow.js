// The shop page's Follow / Following button without a page load: the same form, posted with fetch (its CSRF
// token travels in the form data), the answer's count and state shown. Without JavaScript the form posts and the
// page comes back. A press while one is on its way is ignored; the form says what it wants, so a repeat is harmless.
for (const box of document.querySelectorAll("[data-follow]")) {
  const form = box.querySelector("[data-follow-form]");
  if (!form) continue;
  const button = form.querySelector("button");
  const on = form.querySelector("input[name=on]");
  const count = box.querySelector("[data-follow-count]");
  const label = box.querySelector("[data-follow-label]");
  const name = form.action.split("/creators/")[1].split("/")[0];
  let busy = false;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (busy) return;
    busy = true;
    button.disabled = true;
    try {
      const response = await fetch(form.action, {
        method: "POST", body: new FormData(form), credentials: "same-origin",
        headers: {"Accept": "application/json"},
      });
      if (!response.ok) { form.submit(); return; }
      const data = await response.json();
      on.value = data.following ? "0" : "1";
      button.classList.toggle("secondary", data.following);
      button.setAttribute("aria-pressed", data.following ? "true" : "false");
      button.textContent = data.following ? "Following" : "Follow";
      const hidden = document.createElement("span");
      hidden.className = "visually-hidden";
      hidden.textContent = data.following ? ` ${decodeURIComponent(name)}: press to unfollow` : ` ${decodeURIComponent(name)}`;
      button.append(hidden);
      count.textContent = data.followers;
      label.textContent = data.followers === 1 ? "follower" : "followers";
    } catch (error) {
      form.submit();
    } finally {
      busy = false;
      button.disabled = false;
    }
  });
}
