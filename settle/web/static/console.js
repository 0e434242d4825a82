// The agent console without reloading: the queue and the conversation refresh themselves, and
// replies and notes are sent in the background. Every page also works without this script.
(function () {
  "use strict";

  async function refresh(element) {
    const target = element.tagName === "TABLE" ? element.querySelector("tbody") : element;
    try {
      const response = await fetch(element.dataset.refresh, { credentials: "same-origin", cache: "no-store" });
      if (response.status === 401) {
        window.location.assign("/agent/login?next=" + encodeURIComponent(window.location.pathname));
        return;
      }
      if (!response.ok) return;
      const html = await response.text();
      if (html !== element.dataset.lastHtml) {  // the server renders escaped HTML of its own templates
        element.dataset.lastHtml = html;
        target.innerHTML = html;
      }
    } catch (error) {
      // Offline for a moment: the next round tries again.
    }
  }

  function poll(element, milliseconds) {
    refresh(element);
    window.setInterval(function () { refresh(element); }, milliseconds);
  }

  function enhance(form) {
    form.addEventListener("submit", async function (event) {
      event.preventDefault();
      const button = form.querySelector("button[type=submit]");
      button.disabled = true;
      try {
        const response = await fetch(form.action, {
          method: "POST",
          body: new FormData(form),
          credentials: "same-origin",
          headers: { "X-Requested-With": "fetch" },
        });
        if (response.status !== 204) {
          window.location.reload();  // shows what went wrong, as the page would without this script
          return;
        }
        form.querySelector("textarea").value = "";
        const messages = document.getElementById("messages");
        if (messages) await refresh(messages);
      } finally {
        button.disabled = false;
        form.querySelector("textarea").focus();
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("table[data-refresh]").forEach(function (table) { poll(table, 3000); });
    document.querySelectorAll("ol[data-refresh]").forEach(function (list) { poll(list, 1500); });
    document.querySelectorAll("form[data-enhance]").forEach(enhance);
  });
})();
