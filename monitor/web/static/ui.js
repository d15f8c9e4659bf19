// Progressive only: every page works without it. Countdowns and elapsed times tick each
// second; a page that asks (data-reload, the overview) reloads itself unless a field has focus.
"use strict";
function hms(s) {
  s = Math.abs(s);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), x = s % 60;
  return (h ? h + ":" + String(m).padStart(2, "0") : m) + ":" + String(x).padStart(2, "0");
}
function tick() {
  const now = Date.now();
  document.querySelectorAll("[data-until]").forEach((e) => {
    const s = Math.round((Date.parse(e.dataset.until) - now) / 1000);
    e.textContent = s >= 0 ? hms(s) + " " + e.dataset.left : e.dataset.missed + " " + hms(s);
    e.classList.toggle("late", s < 0);
  });
  document.querySelectorAll("[data-since]").forEach((e) => {
    e.textContent = hms(Math.max(0, Math.round((now - Date.parse(e.dataset.since)) / 1000)));
  });
}
tick();
setInterval(tick, 1000);
const every = Number(document.body.dataset.reload || 0);
if (every > 0) {
  setInterval(() => {
    const a = document.activeElement;
    if (!a || !["INPUT", "SELECT", "TEXTAREA", "BUTTON"].includes(a.tagName)) location.reload();
  }, every * 1000);
}
document.querySelectorAll("select[data-submit]").forEach((s) => {
  s.addEventListener("change", () => s.form.submit());
});
