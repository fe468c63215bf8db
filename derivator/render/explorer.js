// The explorer page's one script: fixed, shipped with derivator, the same for every network.
// It reads the page's data block (JSON, never executed) and only toggles classes and `hidden`;
// it builds no markup from the data, so no name in a file can become code.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("explorer-data").textContent);
  var svg = document.querySelector("#network svg");
  var sections = {};
  document.querySelectorAll("section.derivation").forEach(function (s) { sections[s.getAttribute("data-wrt")] = s; });
  var edges = Array.prototype.slice.call(svg ? svg.querySelectorAll(".edge") : []);
  function key(el) { return el.getAttribute("data-from") + "\u2192" + el.getAttribute("data-to"); }
  // Thin lines are hard to hit: each edge gets a wide transparent twin under it, and its weight label
  // the same ends, so that a click on either shows the weight.
  edges.forEach(function (e) {
    var hit = e.cloneNode(false);
    hit.setAttribute("class", "hit");
    hit.removeAttribute("marker-end");  // a wide twin would draw its arrowhead as wide
    e.parentNode.insertBefore(hit, e);
    var label = e.nextElementSibling;
    if (label && label.classList.contains("weight")) {
      label.setAttribute("data-from", e.getAttribute("data-from"));
      label.setAttribute("data-to", e.getAttribute("data-to"));
    }
  });
  function show(name) {
    var marked = data.paths[name] || {edges: [], nodes: []};
    edges.forEach(function (e) {
      var on = marked.edges.indexOf(key(e)) >= 0;
      e.classList.toggle("lit", on);
      var label = e.nextElementSibling;
      if (label && label.getAttribute("class") && label.classList.contains("weight")) { label.classList.toggle("lit", on); }
    });
    document.getElementById("current").textContent = marked.title || "";  // text, never markup
    (svg ? svg.querySelectorAll("circle.node") : []).forEach(function (c) {
      c.classList.toggle("lit", marked.nodes.indexOf(c.getAttribute("data-name")) >= 0);
      c.classList.toggle("chosen", c.getAttribute("data-name") === name);
    });
    Object.keys(sections).forEach(function (k) { sections[k].hidden = k !== name; });
    document.querySelectorAll("#index button").forEach(function (b) {
      b.classList.toggle("chosen", b.getAttribute("data-show") === name);
    });
    var none = document.getElementById("none");
    none.hidden = name in sections;
    none.textContent = name in sections ? "" : "No derivation of " + name + " on this page.";
  }
  function clicked(ev) {
    var t = ev.target.closest("[data-from], [data-name], [data-show]");
    if (!t) { return; }
    if (t.hasAttribute("data-show")) { show(t.getAttribute("data-show")); return; }
    if (t.hasAttribute("data-name")) { show(t.getAttribute("data-name")); return; }
    var w = data.edges[key(t)];
    if (w) { show(w); } else { show(t.getAttribute("data-to")); }
  }
  document.addEventListener("click", clicked);
  show(data.focus);
})();
