// archive-twin: the lend form's borrower picker. Without this script the field is a plain
// username box and the server checks everything; with it, people are offered as one types and
// the chosen person's clearance is shown before the form is sent.
"use strict";

(function () {
  let timer = null;
  let asked = 0;
  const known = new Map();

  function form() { return document.getElementById("lend-form"); }

  function showCard(f, person) {
    const card = document.getElementById("borrower-card");
    if (!card) return;
    if (!person) { card.hidden = true; card.textContent = ""; card.classList.remove("warn"); return; }
    const held = (f.dataset.held || "").split(/\s+/).filter(Boolean);
    const above = held.filter((c) => !person.may_see.includes(c));
    card.textContent = (f.dataset.card || "{name} · {role} · {clearance}")
      .replace("{name}", person.name || person.username)
      .replace("{role}", person.role_label)
      .replace("{clearance}", person.clearance_label);
    if (above.length) card.textContent += " — " + (f.dataset.warn || "");
    card.classList.toggle("warn", above.length > 0);
    card.dataset.clearance = person.clearance;
    card.dataset.above = above.length ? "true" : "false";
    card.hidden = false;
  }

  async function search(f, input) {
    const mine = ++asked;
    const url = `${f.dataset.search}?q=${encodeURIComponent(input.value.trim())}`;
    let items = [];
    try {
      const answer = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (!answer.ok) return;
      items = (await answer.json()).items || [];
    } catch (err) { return; }
    if (mine !== asked) return;  // a later keystroke has asked again
    const list = document.getElementById("borrower-options");
    list.replaceChildren();
    for (const person of items) {
      known.set(person.username, person);
      const option = document.createElement("option");
      option.value = person.username;
      option.label = `${person.name || person.username} · ${person.role_label} · ${person.clearance_label}`;
      list.append(option);
    }
    showCard(f, known.get(input.value.trim()) || null);
  }

  // Delegated: the live refresh of the box page replaces the form's elements.
  document.addEventListener("input", (event) => {
    const f = form();
    if (!f || event.target.id !== "lend-borrower") return;
    const input = event.target;
    showCard(f, known.get(input.value.trim()) || null);
    clearTimeout(timer);
    timer = setTimeout(() => search(f, input), 150);
  });
  document.addEventListener("focusin", (event) => {
    const f = form();
    if (f && event.target.id === "lend-borrower" && !known.size) search(f, event.target);
  });
  const f = form();
  const input = document.getElementById("lend-borrower");
  if (f && input && input.value.trim()) search(f, input);
})();
