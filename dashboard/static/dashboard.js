// archive-twin dashboard: live updates over SSE.
"use strict";

(function () {
  const texts = JSON.parse(document.body.dataset.texts || "{}");
  // The server writes every date in the page's language and the archive's time zone (Babel);
  // the browser's own locale never re-formats them. Only a time that arrives live (a climate
  // reading) is written here, in the page's language (<html lang>) and the archive's zone.
  const dateFormat = new Intl.DateTimeFormat(document.documentElement.lang || "en", {
    dateStyle: "medium", timeStyle: "short",
    timeZone: document.body.dataset.timezone || undefined,
  });

  function showDates(root) {
    for (const el of root.querySelectorAll("time[datetime]")) {
      el.title = el.getAttribute("datetime");
      if (el.textContent.trim()) continue;
      const when = new Date(el.getAttribute("datetime"));
      if (!isNaN(when)) el.textContent = dateFormat.format(when);
    }
  }
  window.archiveShowDates = showDates;
  showDates(document);
  // Sizes come as data attributes: the Content-Security-Policy refuses inline style attributes.
  for (const el of document.querySelectorAll("[data-max-width]")) {
    el.style.maxWidth = el.dataset.maxWidth + "px";
  }

  const kinds = (document.body.dataset.liveKinds || "").split(/\s+/).filter(Boolean);
  if (!kinds.length || !window.EventSource) return;

  const badge = document.getElementById("live-state");
  function setLive(on) {
    if (!badge) return;
    badge.dataset.state = on ? "on" : "off";
    badge.textContent = on ? texts["live.connected"] : texts["live.reconnecting"];
  }

  // Re-render the live parts of this page from the server: the page is the one template,
  // so counts, maps and lists stay in the page's language without a second renderer.
  let timer = null;
  let running = false;
  let again = false;
  async function refresh() {
    if (running) { again = true; return; }
    running = true;
    try {
      const answer = await fetch(location.href, { headers: { "X-Live": "1" }, credentials: "same-origin" });
      if (answer.ok && new URL(answer.url).pathname === location.pathname) {
        const fresh = new DOMParser().parseFromString(await answer.text(), "text/html");
        for (const el of document.querySelectorAll("[data-live][id]")) {
          const twin = fresh.getElementById(el.id);
          if (twin && twin.innerHTML !== el.innerHTML) {
            el.innerHTML = twin.innerHTML;
            showDates(el);
          }
        }
      }
    } catch (err) {
      console.warn("live refresh failed", err);
    } finally {
      running = false;
      if (again) { again = false; schedule(); }
    }
  }
  function schedule() {
    // A burst of changes (an RFID sweep) becomes one refresh.
    if (timer) return;
    timer = setTimeout(() => { timer = null; refresh(); }, 400);
  }

  // Climate: one line per room, the median of its sensors' latest readings. Each reading that
  // arrives replaces its own sensor's value only, so two sensors never fight over one line.
  const climate = document.getElementById("climate");
  const STALE_MS = 15 * 60 * 1000;
  const rooms = new Map();
  for (const li of climate ? climate.querySelectorAll("li[data-key]") : []) {
    let sensors = {};
    try { sensors = JSON.parse(li.dataset.sensors || "{}"); } catch (err) { sensors = {}; }
    rooms.set(li.dataset.key, { li, sensors });
  }
  function median(values) {
    const v = [...values].sort((a, b) => a - b);
    const n = v.length;
    return n % 2 ? v[(n - 1) / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  }
  function showClimate(data) {
    if (!climate) return;
    const key = data.room || data.sensor || "?";
    let room = rooms.get(key);
    if (!room) {
      const li = document.createElement("li");
      li.dataset.key = key;
      const label = document.createElement("span");
      label.textContent = key;
      li.append(label);
      for (const old of climate.querySelectorAll("li:not([data-key])")) old.remove();
      climate.append(li);
      room = { li, sensors: {} };
      rooms.set(key, room);
    }
    room.sensors[data.sensor || "?"] = [data.temperature_c, data.humidity_pct, data.ts];
    const newest = Math.max(...Object.values(room.sensors).map((r) => Date.parse(r[2]) || 0));
    const fresh = Object.values(room.sensors).filter((r) => newest - (Date.parse(r[2]) || 0) <= STALE_MS);
    const t = median(fresh.map((r) => Number(r[0])));
    const h = median(fresh.map((r) => Number(r[1])));
    const li = room.li;
    let value = li.querySelector(".reading");
    if (!value) { value = document.createElement("span"); value.className = "reading"; li.append(value); }
    value.textContent = `${t.toFixed(1)} °C · ${h.toFixed(0)} %RH`;
    let count = li.querySelector(".sensors");
    if (!count) { count = document.createElement("span"); count.className = "muted sensors"; li.append(count); }
    count.textContent = (climate.dataset.sensorWord || "{n}").replace("{n}", fresh.length);
    let time = li.querySelector("time");
    if (!time) { time = document.createElement("time"); time.className = "muted"; li.append(time); }
    time.setAttribute("datetime", data.ts);
    time.textContent = "";
    showDates(li);
  }

  const source = new EventSource("/events");
  source.onopen = () => setLive(true);
  source.onerror = () => setLive(false);
  for (const kind of kinds) {
    source.addEventListener(kind, (event) => {
      let change = {};
      try { change = JSON.parse(event.data); } catch (err) { return; }
      if (kind === "climate") { showClimate(change.data || {}); return; }
      schedule();
    });
  }
  window.addEventListener("pagehide", () => source.close());
})();
