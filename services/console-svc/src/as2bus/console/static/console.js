// as2bus console: small progressive enhancements; every page works without this file.
document.addEventListener("DOMContentLoaded", () => {
  // Times: shown in the browser's time zone, named (a summer time reads GMT+2 in Berlin, a
  // winter one GMT+1), UTC kept in the title (hover).
  const localTimes = (root) => {
    for (const t of root.querySelectorAll("time[datetime]:not(.date)")) {
      const d = new Date(t.getAttribute("datetime"));
      if (!isNaN(d)) t.textContent = d.toLocaleString(undefined, { timeZoneName: "short" });
    }
    // A calendar day (a notice's "by 2026-12-09"): that day, in the browser's language, with
    // no time and no zone, so it is not shifted to the day before west of UTC.
    for (const t of root.querySelectorAll("time.date[datetime]")) {
      const [y, m, day] = t.getAttribute("datetime").split("-").map(Number);
      const d = new Date(y, m - 1, day);
      if (!isNaN(d)) t.textContent = d.toLocaleDateString();
    }
  };
  localTimes(document);
  // A time typed in a form (datetime-local) is in the browser's zone, at the UTC offset of
  // THAT date: 10:00 on a July day in Berlin is +02:00, even when typed in winter (today's
  // offset, new Date().getTimezoneOffset(), put it an hour off). getTimezoneOffset() is UTC
  // minus local, in minutes, as the server reads tz; a value without a zone is local time.
  const pad = (n) => String(n).padStart(2, "0");
  const offsetAt = (typed) => {
    const at = typed ? new Date(typed) : new Date();
    return isNaN(at) ? new Date().getTimezoneOffset() : at.getTimezoneOffset();
  };
  const withOffset = (typed) => {  // 2027-07-01T10:00 -> 2027-07-01T10:00:00+02:00
    const east = -offsetAt(typed), hours = Math.floor(Math.abs(east) / 60);
    const seconds = typed.length === 16 ? ":00" : "";
    return `${typed}${seconds}${east < 0 ? "-" : "+"}${pad(hours)}:${pad(Math.abs(east) % 60)}`;
  };
  const localValue = (d) =>  // a datetime-local value: the instant's wall-clock time here
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
  const zone = window.Intl && Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (zone) for (const named of document.querySelectorAll("[data-zone-name]")) named.textContent = ` (${zone})`;
  // The key store's switch times: tz says the offset at the time typed, set as the form goes.
  for (const tz of document.querySelectorAll("form input[name=tz]")) {
    const typed = tz.form.querySelector("input[type=datetime-local]");
    const fill = () => { tz.value = String(offsetAt(typed ? typed.value : "")); };
    fill();
    tz.form.addEventListener("submit", fill);
  }
  // The TrackLog's From and Until: shown in the browser's zone (a link may carry another
  // zone's times, or the dashboard's UTC ones), and sent below each with its own offset.
  for (const bound of document.querySelectorAll("input[data-instant]")) {
    const instant = new Date(bound.dataset.instant);
    if (!isNaN(instant)) bound.value = localValue(instant);
  }
  // Filters (TrackLog, Audit): the address carries the fields filled in, not every empty one
  // (without this script the form sends them all, and the server ignores the empty ones).
  for (const filters of document.querySelectorAll("form.filters[method=get]")) {
    if (!window.URLSearchParams || !window.FormData) break;
    filters.addEventListener("submit", (event) => {
      event.preventDefault();
      const filled = new URLSearchParams();
      for (const [name, value] of new FormData(filters)) {
        if (!value || name === "tz") continue;  // each time carries its own offset instead
        const local = filters.querySelector(`input[type=datetime-local][name="${name}"]`);
        filled.append(name, local ? withOffset(value) : value);
      }
      const query = filled.toString();
      location.assign(filters.action + (query ? `?${query}` : ""));
    });
  }

  // Send File: upload with a progress bar (the form works without it, just without the bar).
  const sendForm = document.querySelector("form#send-file");
  // Several files: list them in the order they go (the first is the main document).
  const chosen = sendForm && sendForm.querySelector("ol.chosen-files");
  if (chosen) {
    const input = sendForm.querySelector("input[type=file]");
    input.addEventListener("change", () => {
      chosen.replaceChildren(...Array.from(input.files, (file, i) => {
        const item = document.createElement("li");
        item.textContent = `${file.name} (${file.size} bytes)${i ? "" : ": the main document"}`;
        return item;
      }));
      chosen.hidden = input.files.length < 2;
    });
  }
  if (sendForm && window.XMLHttpRequest && window.FormData) {
    sendForm.addEventListener("submit", (event) => {
      event.preventDefault();
      const bar = sendForm.querySelector("progress");
      const button = sendForm.querySelector("button[type=submit]");
      const xhr = new XMLHttpRequest();
      xhr.open("POST", sendForm.action);
      xhr.upload.addEventListener("progress", (e) => {
        if (e.lengthComputable) { bar.hidden = false; bar.value = (100 * e.loaded) / e.total; }
      });
      xhr.addEventListener("load", () => {
        // Redirected to the message's page: go there. An error page replaces this one.
        if (xhr.responseURL && !xhr.responseURL.endsWith("/send")) {
          location.assign(xhr.responseURL);
        } else {
          document.open(); document.write(xhr.responseText); document.close();
        }
      });
      xhr.addEventListener("error", () => {
        button.disabled = false;
        bar.hidden = true;
        alert("The upload was interrupted; nothing was sent. Please try again.");
      });
      button.disabled = true;
      xhr.send(new FormData(sendForm));
    });
  }

  // Dashboard: its figures follow the messages (the page's content is fetched again a couple
  // of seconds after changes, at most that often).
  const livePage = document.querySelector("[data-live-page]");
  if (livePage && window.EventSource) {
    const events = new EventSource(livePage.dataset.livePage);
    let waiting = null;
    events.addEventListener("status", () => {
      waiting = waiting || setTimeout(async () => {
        waiting = null;
        // Only the listing is taken: the server leaves out what the rest of the page needs.
    const answer = await fetch(location.href,
      { headers: { Accept: "text/html", "X-As2bus-Listing-Only": "1" } });
        if (!answer.ok) return;
        const fresh = new DOMParser().parseFromString(await answer.text(), "text/html")
          .querySelector("[data-live-page]");
        if (fresh) { localTimes(fresh); livePage.innerHTML = fresh.innerHTML; }
      }, 2000);
    });
  }

  // A message's page: while the message (or a resend of it) is on its way, the server marks
  // the block data-follow; fetch the page again and swap the block in, every second at first,
  // less often while nothing changes (up to every 10 s: a retry can be minutes away), never
  // while the tab is hidden. A fresh block without data-follow is the settled message: the
  // last swap. Nothing typed can be lost (the page has no field); open details stay open and
  // a focused link keeps the focus.
  let followed = document.querySelector("#message[data-follow]");
  if (followed && window.fetch && window.DOMParser) {
    const FIRST = 1000, SLOWEST = 10000;
    let delay = FIRST, timer = null, busy = false, last = null;
    const following = () => followed.hasAttribute("data-follow");
    const shown = () => { for (const p of followed.querySelectorAll("p.live")) p.hidden = false; };
    const schedule = () => {
      clearTimeout(timer);
      timer = null;
      if (!document.hidden && !busy && following()) timer = setTimeout(follow, delay);
    };
    const swap = (fresh) => {
      const open = new Set(Array.from(followed.querySelectorAll("details[open] > summary"),
                                      (s) => s.textContent));
      for (const summary of fresh.querySelectorAll("details > summary")) {
        if (open.has(summary.textContent)) summary.parentElement.open = true;
      }
      const active = document.activeElement;
      const href = active && followed.contains(active) && active.getAttribute("href");
      localTimes(fresh);
      followed.replaceWith(fresh);
      followed = fresh;
      const again = href && fresh.querySelector(`a[href="${CSS.escape(href)}"]`);
      if (again) again.focus();
    };
    const follow = async () => {
      timer = null;
      busy = true;
      let fresh = null;
      try {
        // Only the listing is taken: the server leaves out what the rest of the page needs.
    const answer = await fetch(location.href,
      { headers: { Accept: "text/html", "X-As2bus-Listing-Only": "1" } });
        if (answer.redirected) return;  // signed out meanwhile: the next click says so
        if (answer.ok) {
          fresh = new DOMParser().parseFromString(await answer.text(), "text/html")
            .querySelector("#message");
        }
      } catch (e) {
        // The console is away for a moment: try again, less often.
      } finally {
        busy = false;
      }
      if (fresh && fresh.outerHTML !== last) {
        last = fresh.outerHTML;
        swap(fresh);
        shown();
        delay = FIRST;
      } else {
        delay = Math.min(delay * 1.5, SLOWEST);
      }
      schedule();
    };
    document.addEventListener("visibilitychange", () => {
      if (document.hidden || busy || !following()) return schedule();
      delay = FIRST;  // back in view: catch up at once
      clearTimeout(timer);
      follow();
    });
    shown();
    schedule();
  }

  // TrackLog: on each status change the console passes on, fetch this page again and swap
  // its listing in (at most twice a second). Only the first page follows: older pages stay put.
  // The whole listing is swapped, not just the rows: an empty list keeps saying why until a
  // matching message arrives, and then its rows come with the table's header.
  const listing = document.querySelector("[data-live]");
  if (!listing || !window.EventSource || new URL(location.href).searchParams.get("cursor")) return;
  const source = new EventSource(listing.dataset.live);
  const banner = document.querySelector("p.live");
  let pending = null;
  const refresh = async () => {
    pending = null;
    // Only the listing is taken: the server leaves out what the rest of the page needs.
    const answer = await fetch(location.href,
      { headers: { Accept: "text/html", "X-As2bus-Listing-Only": "1" } });
    if (!answer.ok) return;
    const fresh = new DOMParser().parseFromString(await answer.text(), "text/html")
      .querySelector("[data-live]");
    if (!fresh) return;
    localTimes(fresh);
    listing.replaceChildren(...fresh.childNodes);
  };
  source.addEventListener("open", () => { if (banner) banner.hidden = false; });
  source.addEventListener("status", () => { pending = pending || setTimeout(refresh, 500); });
  source.addEventListener("overflow", () => refresh());
});

// Certificate pages: a file dropped on a file field's label fills the field (the field itself
// still works as usual: this only saves opening the file chooser).
document.addEventListener("DOMContentLoaded", () => {
  for (const zone of document.querySelectorAll("label.file-drop")) {
    const input = zone.querySelector("input[type=file]");
    if (!input || !window.DataTransfer) continue;
    zone.addEventListener("dragover", (event) => {
      event.preventDefault();
      zone.classList.add("dragging");
    });
    zone.addEventListener("dragleave", () => zone.classList.remove("dragging"));
    zone.addEventListener("drop", (event) => {
      event.preventDefault();
      zone.classList.remove("dragging");
      const dropped = event.dataTransfer.files;
      if (dropped.length === 1) {
        input.files = dropped;
        input.dispatchEvent(new Event("change", { bubbles: true }));
      }
    });
  }
});
