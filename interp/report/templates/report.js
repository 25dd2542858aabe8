(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("interp-data").textContent);
  var picker = document.getElementById("interp-head-select");
  var typed = document.getElementById("interp-head-input");
  var detail = document.getElementById("interp-head-detail");
  var explorer = document.getElementById("explore");
  var table = document.querySelector("table.heads");
  var filters = document.getElementById("interp-filters");
  var count = document.getElementById("interp-heads-count");

  // A recorded pattern, [query][key] over keys 0..q, as the page carries it (thousandths
  // where data.scale says so): back to the recorded weights, padded to a square grid.
  function grid(label) {
    var rows = data.patterns[label], scale = data.scale[label] || 1;
    var n = Math.max(rows.length, data.tokens.length), z = [], q, k, row, value;
    for (q = 0; q < n; q++) {
      row = [];
      for (k = 0; k < n; k++) {
        value = rows[q] && k < rows[q].length ? rows[q][k] : null;
        row.push(value === null ? null : (scale === 1 ? value : value / scale));
      }
      z.push(row);
    }
    return z;
  }

  function drawPattern(label) {
    var gd = document.getElementById(data.figure);
    if (!gd || !window.Plotly || !gd.data || !gd.data.length) { return; }
    var has = Object.prototype.hasOwnProperty.call(data.patterns, label);
    var z = has ? grid(label) : gd.data[0].z.map(function (row) {
      return row.map(function () { return null; });
    });
    var title = has ? data.heads[label].title
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

  function fixed(value, digits) {
    return value === null || value === undefined ? "n/a" : value.toFixed(digits);
  }

  // The "Scores" lines of a head: score, null, lift, stderr (and the no-repeat control)
  // per behavior, from data.scores.
  function scoreLines(label) {
    var lines = [];
    (data.scores[label] || []).forEach(function (entry, i) {
      if (!entry) { return; }
      var text = data.behaviors[i] + ": score " + fixed(entry[0], 4) + ", null " +
        fixed(entry[1], 4) + ", lift " + fixed(entry[2], 3) + ", stderr " +
        (entry[3] === null ? "n/a" : String(entry[3]));
      if (entry[4] !== null) { text += ", same positions without repeats " + fixed(entry[4], 4); }
      if (entry[5]) { text += " (classed)"; }
      lines.push(text);
    });
    return lines.length ? lines : ["none recorded"];
  }

  function showDetail(label) {
    var info = data.heads[label];
    if (!detail || !info) { return; }
    detail.textContent = "";
    detail.appendChild(element("h3", "head " + label + " \u2014 " + info.classes));
    [["Scores", scoreLines(label)]].concat(info.sections).forEach(function (section) {
      detail.appendChild(element("h4", section[0]));
      var list = element("ul");
      section[1].forEach(function (line) { list.appendChild(element("li", line)); });
      detail.appendChild(list);
    });
  }

  function select(label, reveal, redraw) {
    if (!data.heads[label]) { return false; }
    if (picker) { picker.value = label; }
    if (typed) { typed.classList.remove("bad"); }
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
    return true;
  }

  if (picker) {
    picker.addEventListener("change", function () { select(picker.value, false, true); });
  }
  if (typed) {
    typed.addEventListener("keydown", function (event) {
      if (event.key !== "Enter") { return; }
      event.preventDefault();
      var label = typed.value.trim();
      if (select(label, false, true)) { typed.value = ""; }
      else { typed.classList.add("bad"); }
    });
  }
  // Head labels anywhere on the page (summary, measures) open the head.
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a.head");
    if (!link) { return; }
    event.preventDefault();
    select(link.textContent.trim(), true, true);
  });
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

  function applyFilters() {
    if (!table || !filters) { return; }
    var value = function (name) {
      var node = filters.querySelector("[data-filter='" + name + "']");
      return node ? node.value : "";
    };
    var show = value("show"), behavior = value("behavior"), layer = value("layer");
    var shown = 0, rows = table.tBodies[0].rows;
    Array.prototype.forEach.call(rows, function (row) {
      var spans = row.cells[1] ? row.cells[1].querySelectorAll("span[data-b]") : [];
      var classes = [], confirmed = [];
      Array.prototype.forEach.call(spans, function (span) {
        classes.push(span.getAttribute("data-b"));
        if (span.classList.contains("ok")) { confirmed.push(span.getAttribute("data-b")); }
      });
      var ok = true;
      if (show === "classed") { ok = classes.length > 0; }
      else if (show === "confirmed") { ok = confirmed.length > 0; }
      else if (show === "marked") { ok = !!row.cells[1].querySelector("span.measure"); }
      if (ok && behavior) {
        ok = (show === "confirmed" ? confirmed : classes).indexOf(behavior) >= 0;
      }
      if (ok && layer !== "") {
        ok = row.getAttribute("data-head").split(".")[0] === layer;
      }
      row.hidden = !ok;
      if (ok) { shown += 1; }
    });
    if (count) { count.textContent = shown + " of " + rows.length + " heads shown"; }
  }

  function showNullAndLift(on) {
    if (!table) { return; }
    table.classList.toggle("compact", !on);
    Array.prototype.forEach.call(table.querySelectorAll("th[data-span]"), function (th) {
      th.colSpan = on ? Number(th.getAttribute("data-span")) : 1;
    });
  }

  if (filters) {
    Array.prototype.forEach.call(filters.querySelectorAll("select[data-filter]"), function (s) {
      s.addEventListener("change", applyFilters);
    });
    var toggle = filters.querySelector("input[data-toggle='nl']");
    if (toggle) {
      toggle.addEventListener("change", function () { showNullAndLift(toggle.checked); });
      showNullAndLift(toggle.checked);
    }
    applyFilters();
  }

  // A score cell's hover text: the behavior's score, stderr, null and lift, from data.scores.
  function scoreTitle(cell) {
    var row = cell.parentNode, label = row.getAttribute("data-head");
    var th = table.querySelector("th[data-b][data-col='" + cell.cellIndex + "']");
    if (!th || !label || !data.scores[label]) { return; }
    var b = th.getAttribute("data-b"), entry = data.scores[label][data.behaviors.indexOf(b)];
    if (!entry) { return; }
    cell.title = b + " score " + fixed(entry[0], 4) + " \u00b1 " +
      (entry[3] === null ? "n/a" : entry[3]) + " (stderr), null " + fixed(entry[1], 4) +
      ", lift " + fixed(entry[2], 3);
  }

  if (table) {
    var body = table.tBodies[0];
    body.addEventListener("mouseover", function (event) {
      var cell = event.target.closest && event.target.closest("td.num");
      if (cell && !cell.title) { scoreTitle(cell); }
    });
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
          if (raw === null && cell && type === "num") { raw = cell.textContent.trim(); }
          if (raw === null || raw === "") { key = null; }
          else if (type === "num") { key = Number(raw); if (isNaN(key)) { key = null; } }
          else { key = raw.toLowerCase(); }
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
