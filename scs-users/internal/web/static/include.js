// Transclusion: an element marked data-include="<url>" holds a plain link to
// another system's page, and this swaps it for that system's HTML fragment from
// the same origin. The link is the fallback: without scripts, and whenever the
// fragment does not come as HTML within two seconds (the owner is down, slow,
// refuses the session, or a proxy answers in its place), it stays, so that the
// page never waits for, or breaks with, another system.
"use strict";
(function () {
  const TIMEOUT_MS = 2000;

  function include(region) {
    const controller = new AbortController();
    // The timer covers the body as well as the headers: a fragment that
    // trickles in is as late as one that never starts.
    const timer = setTimeout(function () { controller.abort(); }, TIMEOUT_MS);
    region.setAttribute("aria-busy", "true");
    fetch(region.dataset.include, {
      credentials: "same-origin", // the session cookie: the fragment is the user's own
      headers: { Accept: "text/html" },
      signal: controller.signal,
      // A redirect is not the fragment: most likely the owner sends a browser
      // without a session to its login page, which has no place in this one.
      redirect: "error",
    })
      .then(function (resp) {
        const type = (resp.headers.get("Content-Type") || "").split(";")[0].trim().toLowerCase();
        if (resp.status !== 200 || type !== "text/html") return;
        return resp.text().then(function (html) {
          // Parsed in a template, whose scripts are inert and stay so when
          // moved into the page (Range.createContextualFragment would run them).
          const t = document.createElement("template");
          t.innerHTML = html;
          region.replaceChildren(t.content);
        });
      })
      .catch(function () {
        // A network error or the timeout: the link stays, and nothing is thrown
        // into the console of a page that works without the fragment.
      })
      .finally(function () {
        clearTimeout(timer);
        region.removeAttribute("aria-busy");
      });
  }

  document.querySelectorAll("[data-include]").forEach(include);
})();
