(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("interp-data").textContent);
  var picker = document.getElementById("interp-head-select");
  var detail = document.getElementById("interp-head-detail");
  var explorer = document.getElementById("explore");
  var table = document.querySelector("table.heads");

  function grid(rows) {
    var n = Math.max(rows.length, data.tokens.length), z = [], q, row;
    for (q = 0; q < n; q++) {
      row = (rows[q] || []).slice(0, n);
      while (row.length < n) { row.push(null); }
      z.push(row);
    }
    return z;
  }

  function drawPattern(label) {
    var gd = document.getElementById(data.figure);
    if (!gd || !window.Plotly || !gd.data || !gd.data.length) { return; }
    var rows = data.patterns[label];
    var z = rows ? grid(rows) : gd.data[0].z.map(function (row) {
      return row.map(function () { return null; });
    });
    var title = rows ? data.heads[label].title
      : "head " + label + ": no example pattern recorded";
    var trace = Object.assign({}, gd.data[0], {z: z});
    var layout = Object.assign({}, gd.layout, {
      title: Object.assign({}, gd.layout.title, {text: title})
    });
    Plotly.react(gd, [trace], layout, data.config);
    gd.setAttribute("data-head", label);
  }

  function element(tag, text) {
    var node = document.createElement(tag);
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function showDetail(label) {
    var info = data.heads[label];
    if (!detail || !info) { return; }
    detail.textContent = "";
    detail.appendChild(element("h3", "head " + label + " \u2014 " + info.classes));
    info.sections.forEach(function (section) {
      detail.appendChild(element("h4", section[0]));
      var list = element("ul");
      section[1].forEach(function (line) { list.appendChild(element("li", line)); });
      detail.appendChild(list);
    });
  }

  function select(label, reveal, redraw) {
    if (!data.heads[label]) { return; }
    if (picker) { picker.value = label; }
    if (table) {
      Array.prototype.forEach.call(table.tBodies[0].rows, function (row) {
        row.classList.toggle("selected", row.getAttribute("data-head") === label);
      });
    }
    showDetail(label);
    if (redraw) { drawPattern(label); }
    if (reveal && explorer) {
      var box = explorer.getBoundingClientRect();
      if (box.top < 0 || box.top > window.innerHeight * 0.5) { explorer.scrollIntoView(); }
    }
  }

  if (picker) {
    picker.addEventListener("change", function () { select(picker.value, false, true); });
  }
  ["interp-scores", "interp-ablation-effects", "interp-loss-effect"].forEach(function (id) {
    var gd = document.getElementById(id);
    if (!gd || typeof gd.on !== "function") { return; }
    gd.on("plotly_click", function (event) {
      var point = event && event.points && event.points[0];
      var custom = point && point.customdata;
      if (Array.isArray(custom) && typeof custom[0] === "string") {
        select(custom[0], true, true);
      }
    });
  });

  if (table) {
    var body = table.tBodies[0];
    body.addEventListener("click", function (event) {
      var row = event.target.closest("tr[data-head]");
      if (row) { select(row.getAttribute("data-head"), true, true); }
    });
    var headers = table.querySelectorAll("th[data-col]");
    var sortBy = function (th) {
      var col = Number(th.getAttribute("data-col")), type = th.getAttribute("data-type");
      var first = type === "num" ? "descending" : "ascending";
      var dir = th.getAttribute("aria-sort") === first
        ? (first === "ascending" ? "descending" : "ascending") : first;
      Array.prototype.forEach.call(headers, function (other) {
        other.removeAttribute("aria-sort");
      });
      th.setAttribute("aria-sort", dir);
      var sign = dir === "ascending" ? 1 : -1;
      var keyed = Array.prototype.map.call(body.rows, function (row, i) {
        var key;
        if (type === "head") {
          var parts = row.getAttribute("data-head").split(".");
          key = Number(parts[0]) * 1e6 + Number(parts[1]);
        } else {
          var cell = row.cells[col], raw = cell ? cell.getAttribute("data-sort") : null;
          if (raw === null || raw === "") { key = null; }
          else { key = type === "num" ? Number(raw) : raw.toLowerCase(); }
        }
        return {key: key, index: i, row: row};
      });
      keyed.sort(function (a, b) {
        if (a.key === null || b.key === null) {
          if (a.key === b.key) { return a.index - b.index; }
          return a.key === null ? 1 : -1;  // missing values last, either way
        }
        if (a.key < b.key) { return -sign; }
        if (a.key > b.key) { return sign; }
        return a.index - b.index;
      });
      keyed.forEach(function (item) { body.appendChild(item.row); });
    };
    Array.prototype.forEach.call(headers, function (th) {
      th.addEventListener("click", function () { sortBy(th); });
      th.addEventListener("keydown", function (event) {
        if (event.key === "Enter" || event.key === " ") { event.preventDefault(); sortBy(th); }
      });
    });
  }

  if (data.first !== null) {  // the pattern figure was drawn for it already
    select(data.first, false, false);
    var figure = document.getElementById(data.figure);
    if (figure) { figure.setAttribute("data-head", data.first); }
  }
}());
