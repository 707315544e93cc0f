/* swapnet's page helper: JSON over fetch with Django's CSRF token, a WebSocket that reconnects,
   and live regions that re-read themselves over HTTP.

   Messages on a stream are hints (the live-push contract): a live region never renders a
   message's payload; it re-reads its server-rendered fragment on the snapshot after every
   (re)connect, on every message, every 10 s while the socket is not open (polling fallback),
   and when the page becomes visible again. So a page shows the truth with or without sockets.

   window.swapnet = {
     csrfToken()                              -> string (the csrftoken cookie, else the page's form token)
     fetchJSON(url, {method, body, headers, idempotencyKey})
                                              -> Promise<object>; rejects with swapnet.ApiError
                                                 {status, code, message, fields} (swapnet's error shape)
     connect(path, {onMessage, onSnapshot, onState, refresh, pollMs})
                                              -> {close()}; path like "/ws/driver/"; onState("open" |
                                                 "polling" | "closed"); refresh() is called on open, on
                                                 every message and every pollMs (10 000) while not open
     liveRegion(element)                      -> {refresh(), close()}; for an element with
                                                 data-live-src (fragment URL) and optional
                                                 data-live-stream (WebSocket path), data-live-poll (ms)
     refreshAll()                             -> re-read every live region now
   }
   Live regions are started on DOMContentLoaded; a region is not replaced while a control
   inside it has focus or a <details> inside it is open (someone is typing or choosing). */
(function () {
  "use strict";

  var POLL_MS = 10000;
  var RETRY_MIN_MS = 1000;
  var RETRY_MAX_MS = 30000;

  function cookie(name) {
    var parts = document.cookie ? document.cookie.split("; ") : [];
    for (var i = 0; i < parts.length; i++) {
      var eq = parts[i].indexOf("=");
      if (parts[i].slice(0, eq) === name) return decodeURIComponent(parts[i].slice(eq + 1));
    }
    return "";
  }

  function csrfToken() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return cookie("csrftoken") || (input ? input.value : "");
  }

  function ApiError(status, code, message, fields) {
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.message = message;
    this.fields = fields || {};
  }
  ApiError.prototype = Object.create(Error.prototype);

  function fetchJSON(url, options) {
    options = options || {};
    var method = (options.method || "GET").toUpperCase();
    var headers = { Accept: "application/json" };
    var key;
    for (key in options.headers || {}) headers[key] = options.headers[key];
    if (method !== "GET" && method !== "HEAD") headers["X-CSRFToken"] = csrfToken();
    if (options.idempotencyKey) headers["Idempotency-Key"] = options.idempotencyKey;
    var body;
    if (options.body !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(options.body);
    }
    return fetch(url, { method: method, headers: headers, body: body, credentials: "same-origin" }).then(function (response) {
      return response.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
        if (!response.ok) {
          var error = (data && data.error) || {};
          throw new ApiError(response.status, error.code || "http_" + response.status, error.message || response.statusText, error.fields);
        }
        return data;
      });
    });
  }

  function connect(path, handlers) {
    handlers = handlers || {};
    var pollMs = handlers.pollMs || POLL_MS;
    var socket = null;
    var closed = false;
    var retryMs = RETRY_MIN_MS;
    var retryTimer = null;
    var pollTimer = null;
    var state = "";

    function setState(next) {
      if (next === state) return;
      state = next;
      if (handlers.onState) handlers.onState(next);
    }
    function refresh() { if (handlers.refresh) handlers.refresh(); }
    function startPolling() {
      if (pollTimer === null) pollTimer = window.setInterval(refresh, pollMs);
    }
    function stopPolling() {
      if (pollTimer !== null) { window.clearInterval(pollTimer); pollTimer = null; }
    }
    function open() {
      if (closed) return;
      if (!path || !("WebSocket" in window)) { setState("polling"); startPolling(); return; }
      var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
      try {
        socket = new WebSocket(scheme + window.location.host + path);
      } catch (e) {
        scheduleRetry();
        return;
      }
      socket.onopen = function () {
        retryMs = RETRY_MIN_MS;
        stopPolling();
        setState("open");
        refresh(); // re-read on (re)connect
      };
      socket.onmessage = function (event) {
        var message = null;
        try { message = JSON.parse(event.data); } catch (e) { return; }
        if (message && message.type === "snapshot" && handlers.onSnapshot) handlers.onSnapshot(message);
        if (handlers.onMessage) handlers.onMessage(message);
        refresh();
      };
      socket.onclose = function () { socket = null; scheduleRetry(); };
      socket.onerror = function () { /* onclose follows */ };
    }
    function scheduleRetry() {
      if (closed) return;
      setState("polling");
      startPolling();
      if (retryTimer !== null) return;
      retryTimer = window.setTimeout(function () { retryTimer = null; open(); }, retryMs);
      retryMs = Math.min(retryMs * 2, RETRY_MAX_MS);
    }
    open();
    return {
      close: function () {
        closed = true;
        stopPolling();
        if (retryTimer !== null) window.clearTimeout(retryTimer);
        if (socket) socket.close();
        setState("closed");
      },
    };
  }

  var regions = [];

  function busy(element) {
    var active = document.activeElement;
    if (active && active !== document.body && element.contains(active) && /^(INPUT|TEXTAREA|SELECT)$/.test(active.tagName)) return true;
    return element.querySelector("details[open]") !== null;
  }

  function liveRegion(element) {
    var src = element.getAttribute("data-live-src");
    var indicator = document.querySelector(element.getAttribute("data-live-indicator") || "[data-live-indicator-for='" + element.id + "']");
    var inFlight = false;
    var again = false;

    function refresh() {
      if (inFlight) { again = true; return; }
      if (busy(element)) return;
      inFlight = true;
      fetch(src, { credentials: "same-origin", headers: { Accept: "text/html", "X-Requested-With": "fetch" } })
        .then(function (response) {
          if (response.redirected || response.status === 404) { window.location.reload(); return null; }
          return response.ok ? response.text() : null;
        })
        .then(function (html) {
          if (html !== null && html !== undefined && !busy(element)) {
            element.innerHTML = html;
            element.setAttribute("data-live-updated", new Date().toISOString());
            element.dispatchEvent(new CustomEvent("swapnet:refreshed", { bubbles: true }));
          }
        })
        .catch(function () { /* offline: the next poll tries again */ })
        .then(function () {
          inFlight = false;
          if (again) { again = false; refresh(); }
        });
    }

    var link = connect(element.getAttribute("data-live-stream") || "", {
      refresh: refresh,
      pollMs: parseInt(element.getAttribute("data-live-poll") || "", 10) || POLL_MS,
      onState: function (state) {
        element.setAttribute("data-live-state", state);
        if (indicator) indicator.setAttribute("data-state", state);
      },
    });
    var region = { element: element, refresh: refresh, close: link.close };
    regions.push(region);
    return region;
  }

  function refreshAll() { regions.forEach(function (region) { region.refresh(); }); }

  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") refreshAll();
  });
  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("[data-live-src]"), liveRegion);
    // A form marked data-confirm asks before it is sent (abnormal, reject, cancel).
    document.addEventListener("submit", function (event) {
      var form = event.target;
      var question = form.getAttribute && form.getAttribute("data-confirm");
      if (question && !window.confirm(question)) event.preventDefault();
    });
  });

  window.swapnet = {
    csrfToken: csrfToken,
    fetchJSON: fetchJSON,
    connect: connect,
    liveRegion: liveRegion,
    refreshAll: refreshAll,
    ApiError: ApiError,
  };
})();
