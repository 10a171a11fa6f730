// jones-sync serve: small enhancements of pages that work without JavaScript.
"use strict";

// The filter box filters the rows of the table it names, as you type (without JavaScript, the
// form submits and the server filters).
for (const input of document.querySelectorAll("input[data-filter]")) {
  const rows = document.querySelectorAll(input.dataset.filter);
  input.addEventListener("input", () => {
    const needle = input.value.trim().toLowerCase();
    for (const row of rows) {
      row.hidden = needle !== "" && !row.dataset.name.toLowerCase().includes(needle);
    }
  });
}

// Live updates: the page reloads when the server's state changed (a short poll of a counter).
const generation = document.body.dataset.generation;
if (generation !== undefined) {
  const poll = async () => {
    if (document.visibilityState === "visible" && document.activeElement?.tagName !== "INPUT") {
      try {
        const response = await fetch("/ui/generation", { cache: "no-store" });
        if (response.ok) {
          const now = (await response.text()).trim();
          if (now !== generation) {
            location.reload();
            return;
          }
        }
      } catch (_) {
        // The server restarts or the network blinks: try again at the next tick.
      }
    }
    setTimeout(poll, 2000);
  };
  setTimeout(poll, 2000);
}
