// as2bus console: small progressive enhancements; every page works without this file.
// Times: shown in the browser's time zone, UTC kept in the title (hover).
document.addEventListener("DOMContentLoaded", () => {
  for (const t of document.querySelectorAll("time[datetime]")) {
    const d = new Date(t.getAttribute("datetime"));
    if (!isNaN(d)) t.textContent = d.toLocaleString();
  }
});
