// The review queue, keyboard first. One card shows at a time; the next ones are fetched ahead so a
// decision moves on without waiting. Every decision is a POST with the page's CSRF token and a
// request id of its own (a retried POST is applied once); undo reverts the last one.
"use strict";

(function () {
  const review = document.getElementById("review");
  if (!review) return;

  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const filters = JSON.parse(review.dataset.filters || "{}");
  const cardBox = document.getElementById("card");
  const listBox = document.getElementById("queue-list");
  const statusLine = document.getElementById("status");
  const doneBox = document.getElementById("done");
  const search = document.getElementById("search");
  const searchInput = document.getElementById("search-input");
  const searchResults = document.getElementById("search-results");
  const priceBox = document.getElementById("price");
  const priceInput = document.getElementById("price-input");
  const PREFETCH = 3;

  const queue = Array.from(listBox.querySelectorAll("li")).map((li) => li.dataset.id);
  let nextAfter = review.dataset.nextAfter || "";
  let position = 0;
  let decided = 0;
  const cards = new Map(); // product id -> card HTML, fetched ahead
  const undoStack = []; // [{reviewId, productId}]
  let searchChoice = 0;
  let searchPaths = [];
  let busy = false;

  if (cardBox.firstElementChild) cards.set(queue[0], cardBox.innerHTML);

  function say(text, isError) {
    statusLine.textContent = text;
    statusLine.classList.toggle("error", Boolean(isError));
  }

  function currentCard() {
    const article = cardBox.querySelector("article.card");
    return article ? JSON.parse(article.dataset.card) : null;
  }

  async function fetchCard(id) {
    if (cards.has(id)) return cards.get(id);
    const response = await fetch("/card/" + encodeURIComponent(id), { headers: { Accept: "text/html" } });
    if (!response.ok) throw new Error("card " + id + ": " + response.status);
    const html = await response.text();
    cards.set(id, html);
    return html;
  }

  let pendingPage = null; // the next page of the queue, while it is being fetched

  function moreQueue() {
    if (pendingPage) return pendingPage;
    if (!nextAfter) return Promise.resolve();
    const params = new URLSearchParams({ ...filters, after: nextAfter });
    pendingPage = fetch("/api/queue?" + params.toString(), { headers: { Accept: "application/json" } })
      .then((response) => (response.ok ? response.json() : { items: [], next_after: nextAfter }))
      .then((page) => {
        for (const item of page.items) if (!queue.includes(item.id)) queue.push(item.id);
        nextAfter = page.next_after;
      })
      .finally(() => {
        pendingPage = null;
      });
    return pendingPage;
  }

  function prefetch() {
    for (let i = position + 1; i <= position + PREFETCH && i < queue.length; i++) {
      fetchCard(queue[i]).catch(() => {});
      // the card's photos too, so the next card shows complete
      const html = cards.get(queue[i]);
      if (html) for (const src of html.matchAll(/<img src="([^"]+)"/g)) new Image().src = src[1].replace(/&amp;/g, "&");
    }
    if (queue.length - position <= PREFETCH) moreQueue().catch(() => {});
  }

  function markList() {
    for (const li of listBox.querySelectorAll("li")) {
      li.classList.toggle("current", li.dataset.id === queue[position]);
    }
  }

  async function show(index) {
    if (queue.length === 0 || index >= queue.length) {
      if (nextAfter || pendingPage) {
        await moreQueue();
        if (index < queue.length) return show(index);
      }
      position = Math.min(index, queue.length);
      cardBox.innerHTML = "";
      doneBox.hidden = false;
      return;
    }
    position = Math.max(0, index);
    doneBox.hidden = true;
    cardBox.innerHTML = await fetchCard(queue[position]);
    markList();
    prefetch();
  }

  function requestId() {
    return (crypto.randomUUID && crypto.randomUUID()) || String(Date.now()) + Math.random();
  }

  class Refused extends Error {
    constructor(answer, status) {
      super(answer.error || String(status));
      this.stale = Boolean(answer.stale);
      this.confirm = Boolean(answer.confirm);
    }
  }

  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(body),
    });
    const answer = await response.json().catch(() => ({}));
    if (!response.ok) throw new Refused(answer, response.statusText);
    return answer;
  }

  // The card as it is now, after a refusal said it changed under the reviewer.
  async function reload(id) {
    cards.delete(id);
    if (currentCard() && currentCard().id === id) cardBox.innerHTML = await fetchCard(id);
  }

  async function decide(action, extra) {
    const card = currentCard();
    if (!card || busy) return null;
    busy = true;
    try {
      const body = { product_id: card.id, revision: card.revision, action, request_id: requestId(), ...extra };
      const answer = await post("/api/decide", body);
      if (action === "price") {
        await reload(card.id);
        say("Price saved for " + card.id + ". Enter files the category shown.");
        undoStack.push({ reviewId: answer.review_id, productId: card.id, revision: answer.revision, stay: true });
        return answer;
      }
      decided += 1;
      undoStack.push({ reviewId: answer.review_id, productId: card.id, revision: answer.revision });
      const li = listBox.querySelector('li[data-id="' + CSS.escape(card.id) + '"]');
      if (li) li.classList.add("decided");
      queue.splice(position, 1);
      cards.delete(card.id);
      say(decided + " decided. Last: " + card.id + " filed under " + (answer.filed || extra.path || "the category shown"));
      await show(position);
      return answer;
    } catch (error) {
      if (error.confirm) throw error; // the price box asks the question
      say("Not saved: " + error.message, true);
      if (error.stale) await reload(card.id);
      return null;
    } finally {
      busy = false;
    }
  }

  async function undo() {
    const last = undoStack.pop();
    if (!last || busy) return;
    busy = true;
    try {
      await post("/api/undo", { review_id: last.reviewId, revision: last.revision });
      cards.delete(last.productId);
      if (!last.stay) {
        decided -= 1;
        queue.splice(position, 0, last.productId);
        const li = listBox.querySelector('li[data-id="' + CSS.escape(last.productId) + '"]');
        if (li) li.classList.remove("decided");
      }
      say("Undone: " + last.productId);
      await show(position);
    } catch (error) {
      say("Not undone: " + error.message, true);
      if (!error.stale) undoStack.push(last); // a decision someone else replaced stays theirs
    } finally {
      busy = false;
    }
  }

  function skip() {
    if (position < queue.length) {
      say("Skipped " + queue[position]);
      show(position + 1);
    }
  }

  // -- search --------------------------------------------------------------------------------

  function openSearch() {
    if (!currentCard()) return;
    search.hidden = false;
    searchInput.value = "";
    searchResults.innerHTML = "";
    searchPaths = [];
    searchInput.focus();
  }

  function closeOverlays() {
    search.hidden = true;
    priceBox.hidden = true;
    document.activeElement.blur();
  }

  let searchTimer = null;
  searchInput.addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(runSearch, 80);
  });

  async function runSearch() {
    const q = searchInput.value.trim();
    if (!q) return;
    const response = await fetch("/api/taxonomy?" + new URLSearchParams({ q }).toString(), {
      headers: { Accept: "application/json" },
    });
    const answer = await response.json();
    if (searchInput.value.trim() !== q) return;
    searchPaths = answer.paths;
    searchChoice = 0;
    searchResults.innerHTML = "";
    answer.paths.forEach((p, i) => {
      const li = document.createElement("li");
      li.textContent = p.path + "  (" + p.tree + ")";
      li.dataset.path = p.path;
      li.classList.toggle("chosen", i === 0);
      li.addEventListener("click", () => chooseSearch(i));
      searchResults.appendChild(li);
    });
  }

  function moveSearch(step) {
    if (!searchPaths.length) return;
    searchChoice = (searchChoice + step + searchPaths.length) % searchPaths.length;
    searchResults.querySelectorAll("li").forEach((li, i) => li.classList.toggle("chosen", i === searchChoice));
  }

  function chooseSearch(index) {
    const found = searchPaths[index];
    if (!found) return;
    closeOverlays();
    decide("search", { path: found.path, tree: found.tree });
  }

  searchInput.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown") moveSearch(1);
    else if (event.key === "ArrowUp") moveSearch(-1);
    else if (event.key === "Enter") chooseSearch(searchChoice);
    else if (event.key === "Escape") closeOverlays();
    else return;
    event.preventDefault();
    event.stopPropagation();
  });

  // -- price ---------------------------------------------------------------------------------

  const priceQuestion = document.getElementById("price-question");
  let priceToConfirm = null; // the amount the server asked about; Enter again on it confirms

  function openPrice() {
    if (!currentCard()) return;
    priceBox.hidden = false;
    priceQuestion.hidden = true;
    priceToConfirm = null;
    const suggested = cardBox.querySelector(".suggested .amount");
    priceInput.value = suggested ? suggested.dataset.amount : ""; // the server reads it as typed
    priceInput.focus();
    priceInput.select();
  }

  async function savePrice() {
    const price = priceInput.value.trim();
    const confirmed = priceToConfirm !== null && priceToConfirm === price;
    try {
      const answer = await decide("price", { price, confirmed });
      if (answer) closeOverlays();
    } catch (error) {
      priceToConfirm = price;
      priceQuestion.textContent = error.message + " (Enter again saves it, Esc cancels)";
      priceQuestion.hidden = false;
    }
  }

  priceInput.addEventListener("input", () => {
    priceToConfirm = null;
    priceQuestion.hidden = true;
  });

  priceInput.addEventListener("keydown", (event) => {
    if (event.key === "Enter") savePrice();
    else if (event.key === "Escape") closeOverlays();
    else return;
    event.preventDefault();
    event.stopPropagation();
  });

  // -- keys and mouse ------------------------------------------------------------------------

  function handle(key) {
    if (key === "Enter") decide("accept", {});
    else if (/^[1-5]$/.test(key)) {
      const card = currentCard();
      const option = card && card.alternatives[Number(key) - 1];
      if (option) decide("alternative", { path: option.path, tree: option.tree });
    } else if (key === "/") openSearch();
    else if (key === "p") openPrice();
    else if (key === "s") skip();
    else if (key === "u") undo();
    else if (key === "j") show(position + 1);
    else if (key === "k") show(position - 1);
    else return false;
    return true;
  }

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.target.closest && event.target.closest("input, select, textarea")) return;
    if (handle(event.key)) event.preventDefault();
  });

  document.getElementById("keys").addEventListener("click", (event) => {
    const button = event.target.closest("button[data-key]");
    if (button) handle(button.dataset.key);
  });

  cardBox.addEventListener("click", (event) => {
    const option = event.target.closest(".alternatives li[data-path]");
    if (option) decide("alternative", { path: option.dataset.path, tree: option.dataset.tree });
  });

  listBox.addEventListener("click", (event) => {
    const li = event.target.closest("li[data-id]");
    if (li && queue.includes(li.dataset.id)) show(queue.indexOf(li.dataset.id));
  });

  markList();
  prefetch();
})();
