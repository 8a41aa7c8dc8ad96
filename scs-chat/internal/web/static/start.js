// The start page: fill in the location from the browser's geolocation, only
// when the user asks for it with the button. Without JavaScript the fields are
// typed by hand.
"use strict";
(function () {
  const box = document.querySelector("[data-geo]");
  if (!box || !("geolocation" in navigator)) return;
  const button = box.querySelector("[data-geo-button]");
  const status = box.querySelector("[data-geo-status]");
  const lat = document.getElementById("f-lat");
  const lon = document.getElementById("f-lon");
  box.hidden = false;
  button.addEventListener("click", function () {
    status.textContent = "Asking your browser where you are…";
    button.disabled = true;
    navigator.geolocation.getCurrentPosition(
      function (pos) {
        lat.value = pos.coords.latitude.toFixed(5);
        lon.value = pos.coords.longitude.toFixed(5);
        status.textContent = "Filled in. Only you see it; it is deleted once you are matched.";
        button.disabled = false;
      },
      function (err) {
        status.textContent = err.code === err.PERMISSION_DENIED
          ? "Your browser did not share your location. Type it in instead."
          : "Your location could not be found. Type it in instead.";
        button.disabled = false;
      },
      { enableHighAccuracy: false, timeout: 15000, maximumAge: 60000 }
    );
  });
})();
