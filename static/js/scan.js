/* The scan page: the camera through the browser's BarcodeDetector where it exists (Chrome on
   Android, recent Safari); otherwise the page stays a typed form. A QR code read fills the code
   field and sends the form, exactly as typing it would. */
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var form = document.querySelector("[data-scan-form]");
    var start = document.querySelector("[data-camera-start]");
    var card = document.querySelector("[data-camera]");
    if (!form || !start || !card) return;
    if (!("BarcodeDetector" in window) || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) return;
    var video = card.querySelector("video");
    var status = card.querySelector("[data-camera-status]");
    var detector;
    try { detector = new window.BarcodeDetector({ formats: ["qr_code"] }); } catch (e) { return; }
    start.hidden = false;
    start.addEventListener("click", function () {
      navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false }).then(function (stream) {
        card.hidden = false;
        start.hidden = true;
        video.srcObject = stream;
        video.play();
        var done = false;
        function tick() {
          if (done) return;
          detector.detect(video).then(function (codes) {
            if (codes.length && codes[0].rawValue) {
              done = true;
              stream.getTracks().forEach(function (track) { track.stop(); });
              form.querySelector("[name=code]").value = codes[0].rawValue;
              form.submit();
            } else {
              window.setTimeout(tick, 250);
            }
          }).catch(function () { window.setTimeout(tick, 500); });
        }
        tick();
      }).catch(function () {
        if (status) status.textContent = start.getAttribute("data-denied") || "";
        card.hidden = true;
      });
    });
  });
})();
