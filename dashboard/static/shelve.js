// The scan page: a keyboard-wedge scanner (each code + Enter is one scan) or the camera; a tone
// and a vibration per result; the session kept across reloads; a notice when something else
// moves a box just shelved here.
"use strict";

(function () {
  const form = document.getElementById("shelve-form");
  const input = document.getElementById("scan");
  const targetField = document.getElementById("target-field");
  const targetOut = document.getElementById("target");
  const list = document.getElementById("scans");
  const tally = document.getElementById("tally");
  const panel = document.getElementById("shelve-panel");
  const modeField = document.getElementById("mode-field");
  const stocktakeField = document.getElementById("stocktake-field");
  const muteBox = document.getElementById("mute");
  const cameraButton = document.getElementById("camera-start");
  const cameraState = document.getElementById("camera-state");
  const video = document.getElementById("camera-view");
  const restored = document.getElementById("restored");
  const counting = panel.dataset.mode === "stocktake";
  // How many scans ended in each action (moved, counted, duplicate), and how many were refused.
  const counts = { moved: 0, counted: 0, duplicate: 0, refused: 0 };
  // Scans are sent one after another, so a box scanned right after a location goes there.
  let queue = Promise.resolve();

  // ------------------------------------------------------------ the session, kept per tab
  // sessionStorage: a reload keeps the target, the mode and the list (the page's record of
  // what was done); another tab, or tomorrow, starts afresh. Nothing is ever sent again.
  const SESSION_KEY = `archive-twin.shelve.${counting ? "stocktake" : "moves"}`;
  const KEPT_RESULTS = 200;
  const RECENT_MS = 5 * 60 * 1000; // a move by someone else this soon after shelving is news
  const session = { target: null, mode: null, stocktake: null, results: [], recent: {} };

  function save() {
    try {
      session.results = session.results.slice(-KEPT_RESULTS);
      sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
    } catch (err) {
      // private mode or a full store: the page still works, it only forgets on reload
    }
  }

  function load() {
    try {
      return JSON.parse(sessionStorage.getItem(SESSION_KEY) || "null");
    } catch (err) {
      return null;
    }
  }

  // The mode: the checked radio (shelve, pick, check out, return), else the page's own
  // (stocktake has a page of its own).
  function currentMode() {
    const chosen = form.querySelector('input[name="mode"]:checked');
    if (chosen) return chosen.value;
    return modeField ? modeField.value : "shelve";
  }

  // Green: done as asked; amber: counted, but not where the twin has it (or counted twice);
  // red: refused.
  function feeling(result) {
    if (!result.ok) return "bad";
    if (result.action === "duplicate" || result.verdict === "misplaced" ||
        result.verdict === "unexpected" || result.verdict === "on_loan") return "warn";
    return "ok";
  }

  function flash(kind) {
    panel.classList.remove("flash-ok", "flash-bad", "flash-warn");
    void panel.offsetWidth; // restart the animation
    panel.classList.add(`flash-${kind}`);
  }

  function showTarget(code, path) {
    targetField.value = code || "";
    targetOut.dataset.code = code || "";
    targetOut.replaceChildren();
    session.target = code ? { code, path: path || "" } : null;
    if (!code) { targetOut.textContent = targetOut.dataset.none; return; }
    const c = document.createElement("span");
    c.className = "code";
    c.textContent = code;
    targetOut.append(c, " " + (path || ""));
  }

  function showTally() {
    tally.textContent = tally.dataset.template.replace(/\{(\w+)\}/g, (all, word) => (word in counts ? counts[word] : all));
  }

  // One line of the list: a scan's result, or a notice of a later move (`notice: true`).
  function addResult(result) {
    const empty = list.querySelector(".empty");
    if (empty) empty.remove();
    const li = document.createElement("li");
    if (result.notice) {
      li.className = "scan moved-later";
      li.setAttribute("role", "alert");
    } else {
      li.className = `scan ${result.ok ? "ok" : "refused"} action-${result.action} feel-${feeling(result)}`;
      if (result.verdict) li.classList.add(`verdict-${result.verdict}`);
      if (result.reason) li.dataset.reason = result.reason;
    }
    const code = document.createElement("span");
    code.className = "code";
    code.textContent = result.code;
    const message = document.createElement("span");
    message.className = "message";
    message.textContent = result.said;
    li.append(code, message);
    if (result.detail) {
      const detail = document.createElement("span");
      detail.className = "detail";
      detail.textContent = result.detail;
      li.append(detail);
    }
    list.prepend(li);
    if (result.notice) return;
    if (result.ok && result.action in counts) counts[result.action] += 1;
    if (!result.ok) counts.refused += 1;
    showTally();
  }

  // ------------------------------------------------------------ a tone and a vibration
  const MUTE_KEY = "archive-twin.shelve.mute";
  let audio = null;

  function muted() { return Boolean(muteBox && muteBox.checked); }

  // Accepted: one short high beep and one buzz; refused: two lower beeps and two buzzes, so
  // the person holding the scanner knows without looking. The tone played is kept on the
  // panel's data-tone (what a test, or a screen reader's user, can check).
  function sound(kind) {
    if (muted()) { panel.dataset.tone = "muted"; return; }
    const refused = kind === "refused";
    try {
      audio = audio || new AudioContext();
      if (audio.state === "suspended") audio.resume();
      const start = audio.currentTime + 0.01;
      const beeps = refused ? [[330, 0], [220, 0.2]] : [[880, 0]];
      const length = refused ? 0.15 : 0.1;
      for (const [frequency, offset] of beeps) {
        const oscillator = audio.createOscillator();
        const gain = audio.createGain();
        oscillator.type = refused ? "square" : "sine";
        oscillator.frequency.value = frequency;
        gain.gain.setValueAtTime(0.2, start + offset);
        gain.gain.exponentialRampToValueAtTime(0.001, start + offset + length);
        oscillator.connect(gain).connect(audio.destination);
        oscillator.start(start + offset);
        oscillator.stop(start + offset + length + 0.02);
      }
    } catch (err) {
      console.warn("no tone:", err); // no audio here: the colour and the list still say it
    }
    if (navigator.vibrate) navigator.vibrate(refused ? [120, 80, 120] : 60);
    panel.dataset.tone = refused ? "refused" : "accepted";
  }

  if (muteBox) {
    try { muteBox.checked = localStorage.getItem(MUTE_KEY) === "1"; } catch (err) { /* kept off */ }
    muteBox.addEventListener("change", () => {
      try { localStorage.setItem(MUTE_KEY, muteBox.checked ? "1" : "0"); } catch (err) { /* not kept */ }
      input.focus();
    });
  }

  // ------------------------------------------------------------ sending a scan
  // Boxes this page put somewhere lately: box code → {at (ms), location, path}.
  const PLACED = new Set(["moved", "already_there", "returned_and_shelved"]);

  function remember(result) {
    if (!result.ok || !result.box || !result.location || !PLACED.has(result.action)) return;
    const at = Date.parse(result.at || "") || Date.now();
    session.recent[result.box] = { at, location: result.location, path: result.location_path || "" };
  }

  async function send(code) {
    let result;
    try {
      const answer = await fetch("/shelve/scan", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({
          code,
          target: targetField.value || null,
          mode: currentMode(),
          stocktake: stocktakeField ? Number(stocktakeField.value) : null,
        }),
      });
      if (answer.status === 401) { location.href = "/signin?next=" + encodeURIComponent(location.pathname + location.search); return; }
      result = await answer.json();
      // A refused scan answers with its outcome (422 for text that cannot be a code); any
      // other failure (a form error, the server down) is shown as a refusal with its words.
      if (!result.action) result = { ok: false, action: "refused", code, said: result.detail || answer.statusText };
    } catch (err) {
      result = { ok: false, action: "refused", code, said: String(err) };
    }
    if (result.action === "target") showTarget(result.location, result.location_path);
    addResult(result);
    remember(result);
    session.results.push(result);
    save();
    flash(feeling(result));
    sound(result.ok ? "accepted" : "refused");
  }

  // The one way in for a code, typed, wedge-scanned or seen by the camera.
  function submitCode(code) {
    code = code.trim();
    if (!code) return;
    queue = queue.then(() => send(code));
  }

  // Where boxes are seen belongs to one stocktake: choosing another starts over.
  if (stocktakeField) {
    stocktakeField.addEventListener("change", () => {
      showTarget(null);
      session.stocktake = stocktakeField.value;
      save();
    });
  }
  for (const radio of form.querySelectorAll('input[name="mode"][type="radio"]')) {
    // After choosing a mode the next scan still lands in the scan input.
    radio.addEventListener("change", () => { session.mode = currentMode(); save(); input.focus(); });
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const code = input.value;
    input.value = "";
    input.focus();
    submitCode(code);
  });

  // A scanner types into whatever has focus: bring stray keystrokes back to the scan input.
  document.addEventListener("keydown", (event) => {
    const active = document.activeElement;
    if (active === input || event.ctrlKey || event.metaKey || event.altKey) return;
    if (active && (active.tagName === "INPUT" || active.tagName === "TEXTAREA" || active.tagName === "SELECT")) return;
    if (event.key.length === 1) input.focus();
  });

  // ------------------------------------------------------------ the camera
  const FORMATS = ["qr_code", "code_128"];
  const SAME_CODE_MS = 2000; // the same label, still in view, is one scan until it leaves this long
  const FRAME_MS = 150;
  let stream = null;
  let detector = null;
  let lastSeen = { label: null, at: 0 };

  function say(text) { cameraState.textContent = text; }

  // The browser's own BarcodeDetector when it reads both formats (Chrome on Android), else
  // the vendored ZXing decoder, loaded the first time it is needed.
  async function chooseDecoder() {
    if ("BarcodeDetector" in window) {
      try {
        const supported = await window.BarcodeDetector.getSupportedFormats();
        if (FORMATS.every((f) => supported.includes(f))) {
          const native = new window.BarcodeDetector({ formats: FORMATS });
          return {
            name: "native",
            async read(source) {
              const found = await native.detect(source);
              return found.length ? found[0].rawValue : null;
            },
          };
        }
      } catch (err) {
        console.warn("BarcodeDetector unusable:", err);
      }
    }
    return zxingDecoder();
  }

  function loadScript(src) {
    return new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = src;
      script.onload = resolve;
      script.onerror = () => reject(new Error(`${src} did not load`));
      document.head.append(script);
    });
  }

  async function zxingDecoder() {
    if (!window.ZXing) await loadScript(cameraButton.dataset.decoder);
    const ZXing = window.ZXing;
    const hints = new Map();
    hints.set(ZXing.DecodeHintType.POSSIBLE_FORMATS, [ZXing.BarcodeFormat.QR_CODE, ZXing.BarcodeFormat.CODE_128]);
    hints.set(ZXing.DecodeHintType.TRY_HARDER, true);
    const reader = new ZXing.MultiFormatReader();
    reader.setHints(hints);
    const canvas = document.createElement("canvas");
    const context = canvas.getContext("2d", { willReadFrequently: true });
    return {
      name: "zxing",
      async read(source) {
        const width = source.videoWidth;
        const height = source.videoHeight;
        if (!width || !height) return null;
        if (canvas.width !== width) canvas.width = width;
        if (canvas.height !== height) canvas.height = height;
        context.drawImage(source, 0, 0, width, height);
        try {
          const bitmap = new ZXing.BinaryBitmap(
            new ZXing.HybridBinarizer(new ZXing.HTMLCanvasElementLuminanceSource(canvas)));
          return reader.decodeWithState(bitmap).getText();
        } catch (err) {
          return null; // no code in this frame (ZXing says so by throwing)
        }
      },
    };
  }

  // A label carries its code twice (QR URL and Code128 text): either is the same label.
  function labelOf(code) { return code.trim().toUpperCase().replace(/^.*\/S\//, ""); }

  function offer(code) {
    const now = Date.now();
    const label = labelOf(code);
    const same = label === lastSeen.label && now - lastSeen.at < SAME_CODE_MS;
    lastSeen = { label, at: now };
    if (!same) submitCode(code);
  }

  async function look() {
    if (!stream) return;
    try {
      if (video.readyState >= 2) {
        const code = await detector.read(video);
        if (code) offer(code);
      }
    } catch (err) {
      console.warn("decoding failed:", err);
    }
    if (stream) setTimeout(look, FRAME_MS);
  }

  function stopCamera() {
    if (stream) for (const track of stream.getTracks()) track.stop();
    stream = null;
    video.srcObject = null;
    video.hidden = true;
    cameraButton.textContent = cameraButton.dataset.start;
    cameraButton.setAttribute("aria-pressed", "false");
    say("");
  }

  async function startCamera() {
    // Browsers give the camera to secure pages only: HTTPS, or localhost.
    if (!window.isSecureContext) { say(cameraState.dataset.needsHttps); return; }
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) { say(cameraState.dataset.missing); return; }
    try {
      detector = detector || await chooseDecoder();
      panel.dataset.decoder = detector.name;
      stream = await navigator.mediaDevices.getUserMedia({
        video: { facingMode: { ideal: "environment" } }, audio: false, // the rear camera
      });
    } catch (err) {
      stream = null;
      if (err && (err.name === "NotAllowedError" || err.name === "SecurityError")) say(cameraState.dataset.refused);
      else if (err && (err.name === "NotFoundError" || err.name === "OverconstrainedError")) say(cameraState.dataset.missing);
      else say(cameraState.dataset.failed.replace("{reason}", (err && err.message) || String(err)));
      return;
    }
    video.srcObject = stream;
    video.hidden = false;
    cameraButton.textContent = cameraButton.dataset.stop;
    cameraButton.setAttribute("aria-pressed", "true");
    say(cameraState.dataset.on);
    try { await video.play(); } catch (err) { /* muted inline video plays; frames are read anyway */ }
    look();
  }

  if (cameraButton) {
    cameraButton.addEventListener("click", () => { if (stream) stopCamera(); else startCamera(); });
    window.addEventListener("pagehide", stopCamera);
  }

  // ------------------------------------------------------------ later moves of boxes shelved here
  const timeFormat = new Intl.DateTimeFormat(document.documentElement.lang || undefined, { timeStyle: "short" });

  function wording(key, values) {
    return list.dataset[key].replace(/\{(\w+)\}/g, (all, word) => (word in values ? values[word] : all));
  }

  function movedLater(change) {
    const mine = session.recent[change.code];
    if (!mine) return;
    const when = Date.parse(change.ts || "") || Date.now();
    const after = when - mine.at;
    if (after > RECENT_MS) { delete session.recent[change.code]; save(); return; }
    if (change.location === mine.location) return; // still where it was put (this page's own news)
    // This page's own next move of the box (to another target) is not news; a reader's is.
    if (change.by === panel.dataset.user && change.reason !== "rfid") { mine.location = change.location; return; }
    delete session.recent[change.code];
    const values = {
      box: change.code, who: change.by || "?", time: timeFormat.format(new Date(when)),
      seconds: Math.max(0, Math.round(after / 1000)), place: change.path || change.location || mine.path,
    };
    const key = !change.location ? "movedNowhere" : change.reason === "rfid" ? "movedByReader" : "movedBy";
    if (!change.location) values.place = mine.path || mine.location;
    const notice = { notice: true, code: change.code, said: wording(key, values) };
    addResult(notice);
    session.results.push(notice);
    save();
    flash("warn");
    sound("refused");
  }

  function watch() {
    if (!window.EventSource) return;
    const source = new EventSource("/events");
    source.addEventListener("box", (event) => {
      let change;
      try { change = JSON.parse(event.data).data || {}; } catch (err) { return; }
      if (change.code && session.recent[change.code]) movedLater(change);
    });
    window.addEventListener("pagehide", () => source.close());
  }

  // ------------------------------------------------------------ start: restore, then listen
  function restore() {
    const kept = load();
    if (!kept || list.querySelector("li.scan")) return; // a no-script form answer shows its own
    session.recent = kept.recent || {};
    if (kept.mode) {
      const radio = form.querySelector(`input[name="mode"][value="${CSS.escape(kept.mode)}"]`);
      if (radio) { radio.checked = true; session.mode = kept.mode; }
    }
    const sameStocktake = !stocktakeField || !kept.stocktake || stocktakeField.value === kept.stocktake;
    if (stocktakeField && kept.stocktake && stocktakeField.querySelector(`option[value="${CSS.escape(kept.stocktake)}"]`)) {
      stocktakeField.value = kept.stocktake;
    }
    if (stocktakeField) session.stocktake = stocktakeField.value;
    if (kept.target && (sameStocktake || stocktakeField.value === kept.stocktake)) {
      showTarget(kept.target.code, kept.target.path);
    }
    for (const result of kept.results || []) {
      addResult(result);
      session.results.push(result);
    }
    if (restored && session.results.length) restored.hidden = false;
  }

  restore();
  if (stocktakeField) session.stocktake = stocktakeField.value;
  save();
  watch();
  input.focus();
})();
