// Live studio: figures arrive over server-sent events; the question feed, the orders and
// the stock table are fetched again when they change. Without this script the page
// works by reloading. A feed with an answer being typed is left alone.
(function () {
  "use strict";
  var root = document.getElementById("studio");
  // An ended show's page carries no event stream: it has nothing left to update.
  if (!root || !window.EventSource || !root.getAttribute("data-events")) { return; }
  var events = root.getAttribute("data-events");
  var feedUrl = root.getAttribute("data-feed");
  var last = "";
  function set(id, text) {
    var el = document.getElementById(id);
    if (el && el.textContent !== text) { el.textContent = text; }
  }
  function busy(el) {
    if (!el) { return false; }
    if (el.contains(document.activeElement) && document.activeElement.tagName !== "BUTTON") { return true; }
    var inputs = el.querySelectorAll("input[type=text], textarea");
    for (var i = 0; i < inputs.length; i++) { if (inputs[i].value) { return true; } }
    return false;
  }
  function refreshFeed() {
    fetch(feedUrl, { credentials: "same-origin" }).then(function (r) {
      if (!r.ok) { return null; }
      return r.text();
    }).then(function (html) {
      if (html === null) { return; }
      var doc = new DOMParser().parseFromString(html, "text/html");
      ["feed-comments", "feed-orders", "feed-stock"].forEach(function (id) {
        var fresh = doc.getElementById(id);
        var old = document.getElementById(id);
        if (fresh && old && !busy(old)) { old.replaceWith(fresh); }
      });
    }).catch(function () {});
  }
  var source = new EventSource(events);
  source.addEventListener("message", function (e) {
    var s;
    try { s = JSON.parse(e.data); } catch (err) { return; }
    set("stat-clock", s.clock);
    set("stat-viewers", s.viewers);
    set("stat-orders", s.orders);
    set("stat-gmv", s.gmv);
    set("stat-trust", s.questions);
    var key = s.comments + "/" + s.orders + "/" + s.actions;
    if (key !== last) { last = key; refreshFeed(); }
    if (s.ended) { source.close(); window.location.reload(); }
  });
})();
