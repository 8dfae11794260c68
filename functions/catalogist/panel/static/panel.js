// The review panel's one script, keyboard first.
//
// Dialogs (category search, price, photo zoom) are modal: focus stays inside them, Esc closes the
// open one wherever focus is, and focus goes back where it was.
//
// The review view (the queue, or one product's page) shows one card at a time. The card shown is
// leased to the reviewer (POST /api/lease, renewed while it stays open, released on moving on);
// a card someone else holds is skipped on the way through the queue, and says who holds it when
// opened by hand. The next cards are fetched ahead so a decision moves on without waiting; the
// list grows page by page as the reviewer goes and keeps the current card in view. Every POST
// carries the page's CSRF token; a decision carries a request id of its own (a retried POST is
// applied once) and the product's revision as the card showed it; undo reverts the last one.
"use strict";

(function () {
  const csrfMeta = document.querySelector('meta[name="csrf-token"]');
  const csrf = csrfMeta ? csrfMeta.content : "";

  // -- dialogs ----------------------------------------------------------------------------------

  const FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]), select, textarea, [tabindex]:not([tabindex="-1"])';
  const dialogs = {
    current: null,
    returnTo: null,
    onClose: null,
    open(dialog, focus, onClose) {
      if (this.current) this.close();
      this.returnTo = document.activeElement;
      this.onClose = onClose || null;
      this.current = dialog;
      dialog.hidden = false;
      document.body.classList.add("has-dialog");
      (focus || dialog.querySelector(FOCUSABLE) || dialog).focus();
    },
    close() {
      const dialog = this.current;
      if (!dialog) return;
      dialog.hidden = true;
      this.current = null;
      document.body.classList.remove("has-dialog");
      if (this.onClose) this.onClose();
      const back = this.returnTo;
      this.returnTo = null;
      // Opened by a key with nothing focused: focus goes to the card, never stays in the hidden dialog.
      const home = document.querySelector("article.card") || document.querySelector("main");
      if (back && document.contains(back) && back !== document.body) back.focus();
      else if (home) home.focus({ preventScroll: true });
    },
  };

  // Capturing, so Esc closes the dialog whatever inside it (or outside) has focus.
  document.addEventListener(
    "keydown",
    (event) => {
      const dialog = dialogs.current;
      if (!dialog) return;
      if (event.key === "Escape") {
        event.preventDefault();
        event.stopPropagation();
        dialogs.close();
      } else if (event.key === "Tab") {
        const inside = Array.from(dialog.querySelectorAll(FOCUSABLE)).filter((el) => el.offsetParent !== null);
        if (!inside.length) return event.preventDefault();
        const first = inside[0];
        const last = inside[inside.length - 1];
        if (event.shiftKey && (document.activeElement === first || !dialog.contains(document.activeElement))) {
          event.preventDefault();
          last.focus();
        } else if (!event.shiftKey && (document.activeElement === last || !dialog.contains(document.activeElement))) {
          event.preventDefault();
          first.focus();
        }
      }
    },
    true,
  );
  document.addEventListener("focusin", (event) => {
    const dialog = dialogs.current;
    if (dialog && !dialog.contains(event.target)) (dialog.querySelector(FOCUSABLE) || dialog).focus();
  });
  for (const button of document.querySelectorAll(".dialog .close")) button.addEventListener("click", () => dialogs.close());

  // -- photo zoom (every page with photos) --------------------------------------------------------

  const zoom = document.getElementById("zoom");
  const zoomImage = document.getElementById("zoom-image");
  document.addEventListener("click", (event) => {
    const button = event.target.closest && event.target.closest("button.zoom");
    if (!button || !zoom) return;
    zoomImage.src = button.dataset.large; // the larger rendition the server makes (720 px)
    zoomImage.alt = button.dataset.alt || "";
    dialogs.open(zoom, zoom.querySelector(".close"));
  });

  // -- the vendor pick-list, filled when first wanted ---------------------------------------------

  const vendorInput = document.querySelector('input[list="vendor-names"]');
  if (vendorInput) {
    let filled = false;
    vendorInput.addEventListener("focus", async () => {
      if (filled) return;
      filled = true;
      const response = await fetch("/api/vendors", { headers: { Accept: "application/json" } });
      if (!response.ok) return;
      const list = document.getElementById("vendor-names");
      for (const name of (await response.json()).vendors) {
        const option = document.createElement("option");
        option.value = name;
        list.appendChild(option);
      }
    });
  }

  // -- the review view ------------------------------------------------------------------------------

  const review = document.getElementById("review");
  if (!review) return;

  const mode = review.dataset.mode; // "queue" or "product" (one card, then the page again)
  const query = JSON.parse(review.dataset.query || "{}");
  const status = review.dataset.status || "open";
  const cardBox = document.getElementById("card");
  const listBox = document.getElementById("queue-list");
  const statusLine = document.getElementById("status");
  const doneBox = document.getElementById("done");
  const positionLine = document.getElementById("position");
  const search = document.getElementById("search");
  const searchInput = document.getElementById("search-input");
  const searchResults = document.getElementById("search-results");
  const priceBox = document.getElementById("price");
  const priceInput = document.getElementById("price-input");
  const priceQuestion = document.getElementById("price-question");
  const PREFETCH = 3;

  const queue = listBox ? Array.from(listBox.querySelectorAll("li[data-id]")).map((li) => li.dataset.id) : [];
  if (mode === "product" && cardBox.querySelector("article.card")) queue.push(cardBox.querySelector("article.card").dataset.id);
  const leasedBy = new Map(); // product id -> who holds its card, for cards others have open
  if (listBox) for (const li of listBox.querySelectorAll("li[data-leased-by]")) leasedBy.set(li.dataset.id, li.dataset.leasedBy);
  let nextAfter = review.dataset.nextAfter || "";
  let position = 0;
  let total = null; // how many cards the view holds, once counted
  let decided = 0;
  const cards = new Map(); // product id -> card HTML, fetched ahead
  const undoStack = []; // [{reviewId, productId, revision, stay}]
  let searchChoice = 0;
  let searchPaths = [];
  let busy = false;
  let shown = 0; // which call of show() is the latest: an older one stops when it wakes
  let aim = 0; // the card the latest show() is on its way to: j and k count from it
  let lease = null; // {id, timer} of the card leased to this reviewer
  const finished = new Set(); // cards decided or skipped on this page

  const firstCard = cardBox.querySelector("article.card");
  if (firstCard) {
    cards.set(firstCard.dataset.id, cardBox.innerHTML);
    position = Math.max(0, queue.indexOf(firstCard.dataset.id));
    aim = position;
  }

  function say(text, isError) {
    statusLine.textContent = text;
    statusLine.classList.toggle("error", Boolean(isError));
  }

  function currentCard() {
    const article = cardBox.querySelector("article.card");
    return article ? JSON.parse(article.dataset.card) : null;
  }

  function row(id) {
    return listBox ? listBox.querySelector('li[data-id="' + CSS.escape(id) + '"]') : null;
  }

  async function fetchCard(id) {
    if (cards.has(id)) return cards.get(id);
    const response = await fetch("/card/" + encodeURIComponent(id), { headers: { Accept: "text/html" } });
    if (!response.ok) throw new Error("card " + id + ": " + response.status);
    const html = await response.text();
    cards.set(id, html);
    return html;
  }

  class Refused extends Error {
    constructor(answer, status) {
      super(answer.error || String(status));
      this.status = status;
      this.stale = Boolean(answer.stale);
      this.confirm = Boolean(answer.confirm);
      this.leasedBy = answer.leased_by || "";
    }
  }

  async function post(url, body, keepalive) {
    const response = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(body),
      keepalive: Boolean(keepalive),
    });
    const answer = await response.json().catch(() => ({}));
    if (!response.ok) throw new Refused(answer, response.status);
    return answer;
  }

  // -- the list and where the reviewer is in it ---------------------------------------------------

  let pendingPage = null; // the next page of the view, while it is being fetched

  function moreQueue() {
    if (pendingPage) return pendingPage;
    if (!nextAfter || mode !== "queue") return Promise.resolve();
    const params = new URLSearchParams({ ...query, after: nextAfter });
    pendingPage = fetch("/api/queue?" + params.toString(), { headers: { Accept: "application/json" } })
      .then((response) => (response.ok ? response.json() : { items: [], rows: "", next_after: nextAfter }))
      .then((page) => {
        const fresh = page.items.filter((item) => !queue.includes(item.id));
        for (const item of fresh) {
          queue.push(item.id);
          if (item.leased_by) leasedBy.set(item.id, item.leased_by);
        }
        if (fresh.length && listBox) {
          // the rows as the server rendered (and escaped) them, those not listed yet
          const holder = document.createElement("ol");
          holder.innerHTML = page.rows;
          for (const li of holder.querySelectorAll("li[data-id]")) if (!row(li.dataset.id)) listBox.appendChild(li);
        }
        nextAfter = page.next_after;
        countQueue();
      })
      .finally(() => {
        pendingPage = null;
      });
    return pendingPage;
  }

  function countQueue() {
    if (mode !== "queue") return;
    fetch("/api/queue/count?" + new URLSearchParams(query).toString(), { headers: { Accept: "application/json" } })
      .then((response) => (response.ok ? response.json() : null))
      .then((answer) => {
        if (!answer) return;
        total = answer.count === null ? null : { count: answer.count, capped: answer.capped, at: decided };
        showPosition();
      })
      .catch(() => {});
  }

  function showPosition() {
    if (!positionLine) return;
    if (!queue.length || position >= queue.length) {
      positionLine.textContent = "";
      return;
    }
    let of = "";
    if (total) of = " of " + Math.max(queue.length, total.count - (decided - total.at)).toLocaleString("en") + (total.capped ? "+" : "");
    positionLine.textContent = "Card " + (position + 1).toLocaleString("en") + of;
  }

  function markList() {
    if (!listBox) return;
    for (const li of listBox.querySelectorAll("li[data-id]")) {
      const here = li.dataset.id === queue[position];
      li.classList.toggle("current", here);
      const link = li.querySelector("a.row");
      if (here) link.setAttribute("aria-current", "true");
      else link.removeAttribute("aria-current");
      if (here) keepInList(li);
    }
  }

  // The list follows the current card by scrolling itself only: scrollIntoView would scroll the
  // page too, and below 900 px, where the list sits under the card, it pulled the card off screen.
  function keepInList(li) {
    const box = listBox.getBoundingClientRect();
    const at = li.getBoundingClientRect();
    if (at.top < box.top) listBox.scrollTop -= box.top - at.top;
    else if (at.bottom > box.bottom) listBox.scrollTop += at.bottom - box.bottom;
  }

  function markLeased(id, who) {
    leasedBy.set(id, who);
    const li = row(id);
    if (!li) return;
    li.dataset.leasedBy = who;
    li.querySelector(".leased").textContent = " · " + who + " is on it";
  }

  function prefetch() {
    for (let i = position + 1; i <= position + PREFETCH && i < queue.length; i++) {
      fetchCard(queue[i])
        .then((html) => {
          // the card's photos too, so the next card shows complete
          for (const src of html.matchAll(/<img src="([^"]+)"/g)) new Image().src = src[1].replace(/&amp;/g, "&");
        })
        .catch(() => {});
    }
    if (queue.length - position <= PREFETCH + 2) moreQueue().catch(() => {});
  }

  if (listBox) {
    listBox.addEventListener("scroll", () => {
      if (listBox.scrollTop + listBox.clientHeight > listBox.scrollHeight - 80) moreQueue().catch(() => {});
    });
    listBox.addEventListener("click", (event) => {
      const link = event.target.closest("a.row");
      if (!link || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
      const id = link.closest("li").dataset.id;
      if (!queue.includes(id)) return; // decided here: its own page
      event.preventDefault();
      show(queue.indexOf(id), "pick");
    });
  }

  // -- leases -------------------------------------------------------------------------------------

  function leaseNote(text) {
    const note = cardBox.querySelector(".lease-note");
    if (!note) return;
    note.textContent = text;
    note.hidden = !text;
  }

  async function takeLease(id) {
    try {
      const answer = await post("/api/lease", { product_id: id });
      if (finished.has(id) || !currentCard() || currentCard().id !== id) {
        // decided, skipped or left while the lease was on its way: give it back
        post("/api/lease/release", { product_id: id }).catch(() => {});
        return true;
      }
      if (lease && lease.id !== id) dropLease();
      if (!lease) lease = { id, timer: setInterval(() => renewLease(id), 1000 * answer.renew_seconds) };
      leasedBy.delete(id);
      return true;
    } catch (error) {
      if (error.status === 409 && error.leasedBy) {
        markLeased(id, error.leasedBy);
        return error.message;
      }
      return true; // the decision itself is checked again by the server
    }
  }

  function renewLease(id) {
    post("/api/lease", { product_id: id }).catch((error) => {
      if (error.status === 409 && currentCard() && currentCard().id === id) leaseNote("This card is now " + error.message + ".");
    });
  }

  function dropLease() {
    if (!lease) return;
    clearInterval(lease.timer);
    post("/api/lease/release", { product_id: lease.id }, true).catch(() => {});
    lease = null;
  }

  function forgetLease(id) {
    // the server ended it (a decision or a skip)
    finished.add(id);
    if (lease && lease.id === id) {
      clearInterval(lease.timer);
      lease = null;
    }
  }

  window.addEventListener("pagehide", dropLease);

  // -- showing a card -------------------------------------------------------------------------------

  // how: "flow" (on through the queue: cards others hold are passed by), "pick" (the reviewer
  // chose this one: if someone holds it, it says who)
  async function show(index, how) {
    const call = ++shown;
    aim = index;
    if (how !== "pick") {
      while (true) {
        while (index < queue.length && leasedBy.has(queue[index])) index += 1;
        if (index < queue.length || !(nextAfter || pendingPage)) break;
        await moreQueue();
        if (call !== shown) return;
      }
    }
    if (queue.length === 0 || index >= queue.length) {
      if (lease) dropLease();
      position = Math.min(index, queue.length);
      aim = position;
      cardBox.innerHTML = "";
      doneBox.hidden = false;
      markList();
      showPosition();
      return;
    }
    position = Math.max(0, index);
    aim = position;
    const id = queue[position];
    if (lease && lease.id !== id) dropLease();
    doneBox.hidden = true;
    let html;
    try {
      html = await fetchCard(id);
    } catch (error) {
      say("Could not load " + id + ": " + error.message, true);
      return;
    }
    if (call !== shown) return;
    cardBox.innerHTML = html;
    markList();
    showPosition();
    prefetch();
    if (how === "pick") cardBox.querySelector("article.card").focus();
    const held = await takeLease(id);
    if (call !== shown || held === true) return;
    if (how === "pick" || mode === "product") {
      leaseNote("This card is " + held + ". Decisions on it are refused until they move on.");
    } else {
      say("Passed by " + id + ": " + held);
      show(position + 1, "flow");
    }
  }

  function requestId() {
    return (crypto.randomUUID && crypto.randomUUID()) || String(Date.now()) + Math.random();
  }

  async function reload(id) {
    cards.delete(id);
    if (currentCard() && currentCard().id === id) cardBox.innerHTML = await fetchCard(id);
  }

  function leftQueue(id, how) {
    // the card is done here: off the queue, its row says so
    const li = row(id);
    if (li) {
      li.classList.add("done");
      li.querySelector(".state").textContent = how;
    }
    const at = queue.indexOf(id);
    if (at >= 0) queue.splice(at, 1);
    if (at >= 0 && at < position) position -= 1;
    cards.delete(id);
  }

  async function decide(action, extra) {
    const card = currentCard();
    if (!card || busy) return null;
    let next = false; // on to the next card, once this decision is done
    if (leasedBy.has(card.id)) {
      say("Not saved: " + card.id + " is being reviewed by " + leasedBy.get(card.id), true);
      return null;
    }
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
      forgetLease(card.id);
      if (mode === "product") {
        location.reload();
        return answer;
      }
      decided += 1;
      undoStack.push({ reviewId: answer.review_id, productId: card.id, revision: answer.revision, at: position });
      leftQueue(card.id, "filed by you under " + (answer.filed || extra.path || "the category shown"));
      say(decided + " decided. Last: " + card.id + " filed under " + (answer.filed || extra.path || "the category shown"));
      next = true;
      return answer;
    } catch (error) {
      if (error.confirm) throw error; // the price dialog asks the question
      say("Not saved: " + error.message, true);
      if (error.stale) await reload(card.id);
      if (error.leasedBy) markLeased(card.id, error.leasedBy);
      return null;
    } finally {
      busy = false;
      if (next) show(position, "flow");
    }
  }

  async function undo() {
    if (busy || !undoStack.length) return;
    const last = undoStack.pop();
    busy = true;
    let back = false;
    try {
      await post("/api/undo", { review_id: last.reviewId, revision: last.revision });
      cards.delete(last.productId);
      if (mode === "product") {
        location.reload();
        return;
      }
      if (!last.stay) {
        decided -= 1;
        const at = Math.min(last.at === undefined ? position : last.at, queue.length);
        queue.splice(at, 0, last.productId);
        position = at;
        const li = row(last.productId);
        if (li) {
          li.classList.remove("done");
          li.querySelector(".state").textContent = "back in the queue";
        }
      }
      say("Undone: " + last.productId);
      finished.delete(last.productId);
      back = true;
    } catch (error) {
      say("Not undone: " + error.message, true);
      if (!error.stale && !error.leasedBy) undoStack.push(last); // a decision someone else replaced stays theirs
    } finally {
      busy = false;
      if (back) show(position, "pick");
    }
  }

  async function skip() {
    const card = currentCard();
    if (position >= queue.length || !card || busy) return;
    if (mode === "product") return;
    if (!card.queued || leasedBy.has(card.id)) {
      say("Passed by " + card.id);
      return show(position + 1, "flow");
    }
    busy = true;
    let next = null;
    try {
      await post("/api/skip", { product_id: card.id });
      forgetLease(card.id);
      if (status === "open") {
        leftQueue(card.id, "skipped by you");
        say("Skipped " + card.id + ": it waits under status skipped");
        next = position;
      } else {
        cards.delete(card.id);
        say("Skipped " + card.id + " again");
        next = position + 1;
      }
    } catch (error) {
      say("Not skipped: " + error.message, true);
      if (error.leasedBy) markLeased(card.id, error.leasedBy);
    } finally {
      busy = false;
      if (next !== null) show(next, "flow");
    }
  }

  // -- search ---------------------------------------------------------------------------------------

  function openSearch() {
    if (!currentCard()) return;
    searchInput.value = "";
    searchResults.innerHTML = "";
    searchPaths = [];
    searchInput.setAttribute("aria-expanded", "false");
    dialogs.open(search, searchInput);
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
      li.id = "search-result-" + i;
      li.setAttribute("role", "option");
      li.textContent = p.path + "  (" + p.source + ")";
      li.dataset.path = p.path;
      li.addEventListener("click", () => chooseSearch(i));
      searchResults.appendChild(li);
    });
    searchInput.setAttribute("aria-expanded", String(answer.paths.length > 0));
    markSearch();
  }

  function markSearch() {
    searchResults.querySelectorAll("li").forEach((li, i) => {
      li.classList.toggle("chosen", i === searchChoice);
      li.setAttribute("aria-selected", String(i === searchChoice));
      if (i === searchChoice) li.scrollIntoView({ block: "nearest" });
    });
    if (searchPaths.length) searchInput.setAttribute("aria-activedescendant", "search-result-" + searchChoice);
    else searchInput.removeAttribute("aria-activedescendant");
  }

  function moveSearch(step) {
    if (!searchPaths.length) return;
    searchChoice = (searchChoice + step + searchPaths.length) % searchPaths.length;
    markSearch();
  }

  function chooseSearch(index) {
    const found = searchPaths[index];
    if (!found) return;
    dialogs.close();
    decide("search", { path: found.path, tree: found.tree });
  }

  searchInput.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown") moveSearch(1);
    else if (event.key === "ArrowUp") moveSearch(-1);
    else if (event.key === "Enter") chooseSearch(searchChoice);
    else return;
    event.preventDefault();
    event.stopPropagation();
  });

  // -- price ----------------------------------------------------------------------------------------

  let priceToConfirm = null; // the amount the server asked about; Enter again on it confirms

  function openPrice() {
    if (!currentCard()) return;
    priceQuestion.hidden = true;
    priceToConfirm = null;
    const suggested = cardBox.querySelector(".suggested .amount");
    priceInput.value = suggested ? suggested.dataset.amount : ""; // the server reads it as typed
    dialogs.open(priceBox, priceInput);
    priceInput.select();
  }

  async function savePrice() {
    const price = priceInput.value.trim();
    const confirmed = priceToConfirm !== null && priceToConfirm === price;
    try {
      const answer = await decide("price", { price, confirmed });
      if (answer) dialogs.close();
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
    if (event.key !== "Enter") return;
    savePrice();
    event.preventDefault();
    event.stopPropagation();
  });

  // -- keys and mouse -------------------------------------------------------------------------------

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
    else if (key === "j" && mode === "queue") show(aim + 1, "flow");
    else if (key === "k" && mode === "queue") {
      let index = aim - 1;
      while (index > 0 && leasedBy.has(queue[index])) index -= 1;
      show(Math.max(0, index), "pick");
    }
    else return false;
    return true;
  }

  document.addEventListener("keydown", (event) => {
    if (dialogs.current || event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    if (target.closest && target.closest("input, select, textarea")) return;
    // a focused link or button does what it says on Enter and Space
    if ((event.key === "Enter" || event.key === " ") && target.closest && target.closest("a, button")) return;
    if (handle(event.key)) event.preventDefault();
  });

  const keys = document.getElementById("keys");
  if (keys) {
    keys.addEventListener("click", (event) => {
      const button = event.target.closest("button[data-key]");
      if (!button) return;
      // left focused, the button would take the next Enter (a focused button does what it
      // says): Enter must file the card shown, whatever was clicked before
      button.blur();
      handle(button.dataset.key);
    });
  }

  cardBox.addEventListener("click", (event) => {
    const option = event.target.closest("button.alternative");
    if (option) decide("alternative", { path: option.dataset.path, tree: option.dataset.tree });
  });

  markList();
  showPosition();
  countQueue();
  prefetch();
  if (currentCard()) {
    const id = currentCard().id;
    takeLease(id).then((held) => {
      if (held === true || (currentCard() && currentCard().id !== id)) return;
      if (mode === "product") leaseNote("This card is " + held + ". Decisions on it are refused until they move on.");
      else show(position, "flow");
    });
  }
})();
