// archive-twin dashboard: dates in the browser's locale, and live updates over SSE.
"use strict";

(function () {
  const texts = JSON.parse(document.body.dataset.texts || "{}");
  const dateFormat = new Intl.DateTimeFormat(navigator.languages, {
    dateStyle: "medium", timeStyle: "short",
  });

  function showDates(root) {
    for (const el of root.querySelectorAll("time[datetime]")) {
      const when = new Date(el.getAttribute("datetime"));
      if (isNaN(when)) continue;
      el.title = el.getAttribute("datetime");
      el.textContent = dateFormat.format(when);
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

  const climate = document.getElementById("climate");
  const readings = new Map();
  // Readings the page was rendered with (stored ones); live ones replace them by key.
  for (const li of climate ? climate.querySelectorAll("li[data-key]") : []) {
    readings.set(li.dataset.key, {
      temperature_c: Number(li.dataset.t), humidity_pct: Number(li.dataset.h), ts: li.dataset.ts,
    });
  }
  function showClimate(data) {
    if (!climate) return;
    const who = data.room_name || data.room || data.sensor || data.sensor_id || data.device || "?";
    readings.set(who, data);
    climate.replaceChildren();
    for (const [name, r] of readings) {
      const li = document.createElement("li");
      const label = document.createElement("span");
      label.textContent = name;
      const value = document.createElement("span");
      value.className = "reading";
      const t = r.temperature_c ?? r.temperature;
      const h = r.humidity_pct ?? r.humidity;
      value.textContent = `${t != null ? Number(t).toFixed(1) + " °C" : "—"} · ${h != null ? Number(h).toFixed(0) + " %RH" : "—"}`;
      li.append(label, value);
      if (r.ts) {
        const time = document.createElement("time");
        time.setAttribute("datetime", r.ts);
        time.className = "muted";
        li.append(time);
        showDates(li);
      }
      climate.append(li);
    }
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
