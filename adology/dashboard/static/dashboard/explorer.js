// Ads explorer: the next page of cards arrives as you scroll (cursor paging), with the
// "Load more ads" link as the keyboard and no-JavaScript path to the same page.

const link = document.querySelector("[data-next-page]");
const grid = document.querySelector("[data-testid=ad-grid]");
const filters = document.querySelector(".filters-panel");

if (filters && window.matchMedia("(max-width: 720px)").matches && !location.search) {
  filters.open = false; // phones start with the grid, filters one tap away
}

let loading = false;
async function loadMore() {
  if (loading || !link?.dataset.nextPage) return;
  loading = true;
  link.textContent = "Loading…";
  try {
    const response = await fetch(link.dataset.nextPage, { headers: { "X-Requested-With": "fetch" } });
    if (response.status === 401) { // the session ended: sign in, then come back to this list
      location.assign(`/login/?next=${encodeURIComponent(location.pathname + location.search)}`);
      return;
    }
    if (!response.ok) throw new Error(String(response.status));
    const holder = document.createElement("div");
    holder.innerHTML = await response.text();
    const cards = [...holder.querySelectorAll("[data-creative-id]")].filter(
      (card) => !grid.querySelector(`[data-creative-id="${card.dataset.creativeId}"]`));
    grid.append(...cards);
    const next = response.headers.get("X-Next-Page");
    if (next) {
      link.dataset.nextPage = next;
      link.href = "?" + next.split("?")[1];
      link.textContent = "Load more ads";
    } else {
      link.parentElement.remove();
      observer?.disconnect();
    }
  } catch {
    link.textContent = "Could not load more ads; try again";
  } finally {
    loading = false;
  }
}

let observer = null;
if (link && grid) {
  link.addEventListener("click", (event) => { event.preventDefault(); loadMore(); });
  observer = new IntersectionObserver((entries) => {
    if (entries.some((entry) => entry.isIntersecting)) loadMore();
  }, { rootMargin: "600px" });
  observer.observe(link);
}
