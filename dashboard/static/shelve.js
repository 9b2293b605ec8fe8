// Shelving with a keyboard-wedge scanner: each code + Enter is one scan; the input keeps focus.
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
  // How many scans ended in each action (moved, counted, duplicate), and how many were refused.
  const counts = { moved: 0, counted: 0, duplicate: 0, refused: 0 };
  // Scans are sent one after another, so a box scanned right after a location goes there.
  let queue = Promise.resolve();

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
    if (!code) { targetOut.textContent = targetOut.dataset.none; return; }
    const c = document.createElement("span");
    c.className = "code";
    c.textContent = code;
    targetOut.append(c, " " + (path || ""));
  }

  function addResult(result) {
    const empty = list.querySelector(".empty");
    if (empty) empty.remove();
    const li = document.createElement("li");
    li.className = `scan ${result.ok ? "ok" : "refused"} action-${result.action} feel-${feeling(result)}`;
    if (result.verdict) li.classList.add(`verdict-${result.verdict}`);
    if (result.reason) li.dataset.reason = result.reason;
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
    if (result.ok && result.action in counts) counts[result.action] += 1;
    if (!result.ok) counts.refused += 1;
    tally.textContent = tally.dataset.template.replace(/\{(\w+)\}/g, (all, word) => (word in counts ? counts[word] : all));
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
    flash(feeling(result));
  }

  // Where boxes are seen belongs to one stocktake: choosing another starts over.
  if (stocktakeField) stocktakeField.addEventListener("change", () => showTarget(null));

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const code = input.value.trim();
    input.value = "";
    input.focus();
    if (!code) return;
    queue = queue.then(() => send(code));
  });

  // A scanner types into whatever has focus: bring stray keystrokes back to the scan input.
  document.addEventListener("keydown", (event) => {
    const active = document.activeElement;
    if (active === input || event.ctrlKey || event.metaKey || event.altKey) return;
    if (active && (active.tagName === "INPUT" || active.tagName === "TEXTAREA" || active.tagName === "SELECT")) return;
    if (event.key.length === 1) input.focus();
  });
  input.focus();
})();
