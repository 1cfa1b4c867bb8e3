/* redistrict plan editor: move blocks between units and see the rules live.
 *
 * The data is the JSON in #rd-data (never evaluated as code).  Every text from the data reaches
 * the page through textContent (no HTML parsing).  A move updates the figures of the two units it
 * touches and checks their contiguity by a breadth-first search on the embedded adjacency graph
 * (the tool's own, with snapping, barriers and overrides), so the verdict is the verifier's.
 */
(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("rd-data").textContent);
  var T = D.text;
  var panel = document.getElementById("rd-panel");

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }
  function fmt(template, values) {
    return template.replace(/\{(\w+)\}/g, function (m, key) { return key in values ? String(values[key]) : m; });
  }
  function num(v) { return v === null || v === undefined ? "—" : Number(v).toLocaleString("en-US"); }

  if (D.too_large) { return; }  // the second script below lists the subdistricts instead

  var B = D.blocks, n = B.id.length, LO = D.bounds[0], HI = D.bounds[1];
  var OK = D.colours.ok, BAD = D.colours.bad;
  var unitOf = Int32Array.from(B.unit0);
  var unit0 = Int32Array.from(B.unit0);
  var detached = new Uint8Array(n);
  var blockIndex = new Map(B.id.map(function (id, i) { return [id, i]; }));

  // adjacency as compressed rows
  var deg = new Int32Array(n + 1), E = D.edges, i;
  for (i = 0; i < E.length; i++) { deg[E[i] + 1]++; }
  for (i = 0; i < n; i++) { deg[i + 1] += deg[i]; }
  var nbr = new Int32Array(E.length), fill = deg.slice(0, n);
  for (i = 0; i < E.length; i += 2) { nbr[fill[E[i]]++] = E[i + 1]; nbr[fill[E[i + 1]]++] = E[i]; }

  var officesIn = new Int32Array(n);
  D.offices.forEach(function (o) { if (o.ok) { officesIn[o.block]++; } });
  var useOffices = D.offices.length > 0 || D.min_office_area !== null;

  var units = [];
  var stats = {movedHH: 0, movedBlocks: 0, outside: 0};
  var active = -1, brush = false, stroke = null;
  var past = [], future = [];
  var timings = [], frames = [];
  var broken = new Set();

  function newUnit(id, name, colour, gbk) {
    var u = {id: id, name: name, colour: colour, gbk: gbk, hh: 0, pop: 0, popMissing: 0, count: 0, offices: 0,
      members: new Set(), comm: new Map(), sub: new Map(), lat: 0, lng: 0, locked: false, pieces: 0,
      detachedList: [], outside: 0, changed: 0, rules: [], index: units.length};
    units.push(u);
    return u;
  }
  D.units.forEach(function (u) { newUnit(u.id, u.name, u.colour, u.gbk); });

  function bump(map, key, delta) {
    var v = (map.get(key) || 0) + delta;
    if (v === 0) { map.delete(key); } else { map.set(key, v); }
  }
  function account(b, u, sign) {
    var hh = B.hh[b];
    u.hh += sign * hh;
    u.count += sign;
    if (B.pop[b] === null) { u.popMissing += sign; } else { u.pop += sign * B.pop[b]; }
    u.offices += sign * officesIn[b];
    u.lat += sign * B.lat[b];
    u.lng += sign * B.lng[b];
    if (B.comm[b] >= 0) { bump(u.comm, B.comm[b], sign * hh); }
    if (B.sub[b] >= 0) { bump(u.sub, B.sub[b], sign); }
    if (sign > 0) { u.members.add(b); } else { u.members.delete(b); }
  }
  function setMoved(b, sign) {  // a block away from its solver unit counts for both units
    if (unitOf[b] === unit0[b]) { return; }
    stats.movedHH += sign * B.hh[b];
    stats.movedBlocks += sign;
    units[unit0[b]].changed += sign;
    units[unitOf[b]].changed += sign;
  }
  for (i = 0; i < n; i++) { account(i, units[unitOf[i]], 1); }

  // --- the rules of one unit ---------------------------------------------------------------------

  function pieces(u) {
    var seen = new Set(), comps = [];
    u.members.forEach(function (start) {
      if (seen.has(start)) { return; }
      var queue = [start], head = 0, minId = B.id[start];
      seen.add(start);
      while (head < queue.length) {
        var b = queue[head++];
        if (B.id[b] < minId) { minId = B.id[b]; }
        for (var k = deg[b]; k < deg[b + 1]; k++) {
          var c = nbr[k];
          if (unitOf[c] === u.index && !seen.has(c)) { seen.add(c); queue.push(c); }
        }
      }
      comps.push({blocks: queue, min: minId});
    });
    comps.sort(function (a, b) { return b.blocks.length - a.blocks.length || (a.min < b.min ? -1 : a.min > b.min ? 1 : 0); });
    return comps;
  }

  function evaluate(u) {
    var rules = [];
    var old = u.detachedList;
    u.detachedList = [];
    if (u.count > 0) {
      var comps = pieces(u);
      u.pieces = comps.length;
      if (comps.length > 1) {
        for (var c = 1; c < comps.length; c++) { u.detachedList = u.detachedList.concat(comps[c].blocks); }
        rules.push({kind: "not_contiguous", text: fmt(T.pieces, {n: comps.length})});
      }
      if (u.hh < LO) { rules.push({kind: "out_of_bounds", text: T.below + " " + num(LO) + " (" + num(u.hh) + ")"}); }
      if (u.hh > HI) { rules.push({kind: "out_of_bounds", text: T.above + " " + num(HI) + " (" + num(u.hh) + ")"}); }
      if (useOffices && u.offices === 0) { rules.push({kind: "no_office", text: T.no_office}); }
      if (!D.cross_subdistricts && u.sub.size > 1) { rules.push({kind: "crosses_subdistrict", text: T.crosses}); }
    } else {
      u.pieces = 0;
    }
    u.rules = rules;
    if (rules.length) { broken.add(u.index); } else { broken.delete(u.index); }
    var main = 0;
    u.comm.forEach(function (hh) { if (hh > main) { main = hh; } });
    stats.outside += (u.hh - main) - u.outside;
    u.outside = u.hh - main;
    old.forEach(function (b) { detached[b] = 0; });
    u.detachedList.forEach(function (b) { detached[b] = 1; });
    return old;
  }

  // --- the map -----------------------------------------------------------------------------------

  var map = L.map("rd-map", {preferCanvas: n > 3000, zoomSnap: 0.25, boxZoom: false, doubleClickZoom: false});  // quick clicks are moves
  var layers = new Array(n);
  function style(b) {
    var u = units[unitOf[b]], moved = unitOf[b] !== unit0[b];
    return {
      fillColor: u.colour, fillOpacity: u.index === active ? 0.85 : 0.55,
      color: detached[b] ? BAD : moved ? "#111111" : "#555555",
      weight: detached[b] ? 3.5 : moved ? 2 : 0.7, opacity: 1,
    };
  }
  function tip(b) {
    return function () {
      var box = el("div", "rd-tip");
      box.appendChild(el("b", null, T.block + " " + (B.name[b] === null ? B.id[b] : B.name[b])));
      var rows = [[T.id, B.id[b]], [T.households, num(B.hh[b])], [T.population, num(B.pop[b])],
        [T.community, B.comm[b] >= 0 ? B.communities[B.comm[b]] : "—"],
        [T.current_unit, units[unitOf[b]].id + " " + units[unitOf[b]].name],
        [T.solver_unit, units[unit0[b]].id + " " + units[unit0[b]].name]];
      var table = el("table");
      rows.forEach(function (r) { var tr = el("tr"); tr.appendChild(el("th", null, r[0])); tr.appendChild(el("td", null, r[1])); table.appendChild(tr); });
      box.appendChild(table);
      return box;
    };
  }
  var bounds = L.latLngBounds([]);
  for (i = 0; i < n; i++) {
    var poly = L.polygon(B.geom[i], style(i));
    poly.bindTooltip(tip(i), {sticky: true});
    poly.on("click", onClick.bind(null, i));
    poly.on("contextmenu", onPick.bind(null, i));
    poly.on("mousedown", onBrushStart.bind(null, i));
    poly.on("mouseover", onBrushOver.bind(null, i));
    poly.addTo(map);
    layers[i] = poly;
    bounds.extend(poly.getBounds());
  }
  D.offices.forEach(function (o) {
    var marker = L.circleMarker([o.lat, o.lng], {radius: o.ok ? 6 : 4, color: o.ok ? "#ffffff" : "#555555", weight: 1.5, fillColor: o.ok ? "#111111" : "#ffffff", fillOpacity: 1, interactive: true});
    marker.bindTooltip(function () {
      var box = el("div", "rd-tip");
      box.appendChild(el("b", null, T.offices + " " + (o.name === null ? o.id : o.name)));
      box.appendChild(el("div", null, num(o.area) + " " + T.m2 + " · " + (o.ok ? T.office_ok : T.office_small)));
      return box;
    });
    marker.on("click", function (ev) { onClick(o.block, ev); });  // a site stands for its block
    marker.on("contextmenu", function (ev) { onPick(o.block, ev); });
    marker.addTo(map);
  });
  if (bounds.isValid()) { map.fitBounds(bounds, {padding: [10, 10]}); } else { map.setView([0, 0], 2); }
  document.getElementById("rd-map").style.background = "#f4f2ec";

  function label(u) {
    if (!u.labelNode) {
      u.labelNode = el("div", "rd-label-inner");
      u.labelName = u.labelNode.appendChild(el("span"));
      u.labelNode.appendChild(el("br"));
      u.labelHH = u.labelNode.appendChild(el("small"));
      u.marker = L.marker([0, 0], {keyboard: false, interactive: false, icon: L.divIcon({className: "rd-label", html: u.labelNode, iconSize: null})});
    }
    u.labelName.textContent = u.name;
    u.labelHH.textContent = num(u.hh) + " " + T.hh;
    u.labelNode.classList.toggle("rd-bad", u.rules.length > 0);
    if (u.count === 0) { u.marker.remove(); return; }
    u.marker.setLatLng([u.lat / u.count, u.lng / u.count]);
    if (!map.hasLayer(u.marker)) { u.marker.addTo(map); }
  }

  // --- the panel ---------------------------------------------------------------------------------

  panel.appendChild(el("h1", null, D.title));
  var sub = panel.appendChild(el("div", "rd-sub"));
  var verdict = panel.appendChild(el("div", "rd-verdict"));
  panel.appendChild(el("p", "rd-help", T.help));
  var tools = panel.appendChild(el("div", "rd-tools"));
  var activeBox = tools.appendChild(el("span", "rd-active"));
  function button(text, handler, title) {
    var b = tools.appendChild(el("button", null, text));
    b.type = "button";
    if (title) { b.title = title; }
    b.addEventListener("click", handler);
    return b;
  }
  var undoBtn = button(T.undo, function () { undo(); }, "Ctrl+Z");
  var redoBtn = button(T.redo, function () { redo(); }, "Ctrl+Y");
  var brushBtn = button(T.brush, function () { setBrush(!brush); });
  button(T.new_unit, function () { createUnit(); });
  button(T.reset, function () { reset(); });
  var message = panel.appendChild(el("div", "rd-message"));
  message.setAttribute("aria-live", "polite");
  var summary = panel.appendChild(el("table", "rd-summary"));
  var summaryCells = [T.moved_blocks, T.moved_solver, T.moved_current].map(function (text) {
    var tr = summary.appendChild(el("tr"));
    tr.appendChild(el("th", null, text));
    return tr.appendChild(el("td", "num"));
  });
  panel.appendChild(el("h2", null, T.rules));
  var ruleList = panel.appendChild(el("ul", "rd-rules"));
  var table = panel.appendChild(el("table", "rd-units"));
  var head = table.appendChild(el("tr"));
  ["", T.unit, T.name, T.households, T.population, T.blocks].concat(useOffices ? [T.offices] : []).concat([T.status, T.lock]).forEach(function (h) { head.appendChild(el("th", null, h)); });
  var saves = panel.appendChild(el("div", "rd-saves"));
  function saveButton(text, handler) {
    var b = saves.appendChild(el("button", null, text));
    b.type = "button";
    b.addEventListener("click", handler);
    return b;
  }
  saveButton(T.save_csv, function () { saveCsv(false); });
  var gbkBtn = saveButton(T.save_gbk, function () { saveCsv(true); });
  if (D.gbk.unavailable !== null) { gbkBtn.disabled = true; gbkBtn.title = fmt(T.gbk_unavailable, {id: D.gbk.unavailable}); }
  saveButton(T.save_json, function () { saveJson(); });
  var commands = panel.appendChild(el("div", "rd-commands"));
  commands.appendChild(el("div", null, T.check_with));
  commands.appendChild(el("code", null, D.commands.verify));
  commands.appendChild(el("div", null, T.reoptimise));
  var replan = commands.appendChild(el("code"));
  if (D.note) { panel.appendChild(el("p", "rd-note", T.graph + ": " + D.note)); }

  function row(u) {
    if (!u.row) {
      var tr = u.row = el("tr");
      var sw = el("span", "sw");
      sw.style.background = u.colour;
      tr.appendChild(el("td")).appendChild(sw);
      u.cells = {};
      ["id", "name", "hh", "pop", "count"].concat(useOffices ? ["offices"] : []).concat(["rules"]).forEach(function (key) {
        u.cells[key] = tr.appendChild(el("td", key === "rules" ? "rd-rule-text" : key === "id" || key === "name" ? null : "num"));
      });
      var lock = el("input");
      lock.type = "checkbox";
      lock.title = T.lock_hint;
      lock.addEventListener("click", function (ev) { ev.stopPropagation(); u.locked = lock.checked; refreshCommand(); });
      tr.appendChild(el("td")).appendChild(lock);
      u.lockBox = lock;
      tr.addEventListener("click", function () { select(u.index); });
      table.appendChild(tr);
    }
    var c = u.cells;
    c.id.textContent = u.id;
    c.name.textContent = u.name;
    c.hh.textContent = num(u.hh);
    c.pop.textContent = u.popMissing ? "—" : num(u.pop);
    c.count.textContent = num(u.count);
    if (c.offices) { c.offices.textContent = num(u.offices); }
    c.rules.textContent = u.count === 0 ? T.empty : u.rules.length ? "✗ " + u.rules.map(function (r) { return r.text; }).join("; ") : T.ok;
    c.rules.style.color = u.count === 0 ? "#777" : u.rules.length ? BAD : OK;
    u.row.classList.toggle("rd-selected", u.index === active);
  }

  function refreshTotals() {
    var count = 0, items = [];
    Array.from(broken).sort(function (a, b) { return a - b; }).forEach(function (k) {
      units[k].rules.forEach(function (r) { count++; items.push([units[k], r]); });
    });
    verdict.textContent = count ? count + " " + T.broken : T.valid;
    verdict.style.color = count ? BAD : OK;
    verdict.dataset.broken = String(count);
    ruleList.textContent = "";
    items.slice(0, 200).forEach(function (item) {
      var li = ruleList.appendChild(el("li", null, item[0].id + " " + item[0].name + ": " + item[1].text));
      li.dataset.kind = item[1].kind;
      li.dataset.unit = item[0].id;
      li.addEventListener("click", function () { zoomTo(item[0], item[1]); });
    });
    if (items.length > 200) { ruleList.appendChild(el("li", null, "… " + (items.length - 200))); }
    summaryCells[0].textContent = num(stats.movedBlocks);
    summaryCells[1].textContent = num(stats.movedHH);
    summaryCells[2].textContent = num(stats.outside);
    var live = units.filter(function (u) { return u.count > 0; }).length;
    sub.textContent = live + " " + T.units_n + " · " + T.bounds + " " + num(LO) + "–" + num(HI) + " " + T.hh;
    activeBox.textContent = T.active + ": " + (active < 0 ? T.none : units[active].id + " " + units[active].name);
    undoBtn.disabled = past.length === 0;
    redoBtn.disabled = future.length === 0;
    refreshCommand();
  }

  function keptUnits() {
    var locked = units.filter(function (u) { return u.locked && u.count > 0; });
    return (locked.length ? locked : units.filter(function (u) { return u.changed > 0 && u.count > 0; })).map(function (u) { return u.id; });
  }
  function refreshCommand() {
    var keep = keptUnits();
    replan.textContent = D.commands.replan.replace("{units}", keep.length ? keep.join(",") : "…");
  }

  function zoomTo(u, rule) {
    var list = rule.kind === "not_contiguous" ? u.detachedList : Array.from(u.members);
    var box = L.latLngBounds([]);
    list.forEach(function (b) { box.extend(layers[b].getBounds()); });
    if (box.isValid()) { map.fitBounds(box, {padding: [40, 40], maxZoom: 18}); }
    select(u.index);
  }

  // --- moving ------------------------------------------------------------------------------------

  function setUnit(b, to) {
    var from = unitOf[b];
    if (from === to) { return; }
    setMoved(b, -1);
    account(b, units[from], -1);
    unitOf[b] = to;
    account(b, units[to], 1);
    setMoved(b, 1);
  }

  function apply(moves, backwards) {
    var touched = new Set(), restyle = new Set();
    moves.forEach(function (m) {
      setUnit(m[0], backwards ? m[1] : m[2]);
      touched.add(m[1]); touched.add(m[2]); restyle.add(m[0]);
    });
    touched.forEach(function (k) {
      var u = units[k];
      evaluate(u).forEach(function (b) { restyle.add(b); });
      u.detachedList.forEach(function (b) { restyle.add(b); });
      row(u);
      label(u);
    });
    restyle.forEach(function (b) { layers[b].setStyle(style(b)); });
    refreshTotals();
  }

  function timed(work) {  // the move itself, and until the browser has drawn the next frame
    var t0 = performance.now();
    work();
    timings.push(performance.now() - t0);
    requestAnimationFrame(function () { setTimeout(function () { frames.push(performance.now() - t0); }, 0); });
  }

  function plannedMoves(list, to) {
    var moves = [], refused = null;
    list.forEach(function (b) {
      var from = unitOf[b];
      if (from === to) { return; }
      if (units[from].locked || units[to].locked) { refused = units[from].locked ? units[from] : units[to]; return; }
      moves.push([b, from, to]);
    });
    if (refused) { message.textContent = fmt(T.locked_refused, {u: refused.id}); }
    return moves;
  }

  function record(moves) {
    if (!moves.length) { return; }
    past.push({moves: moves, at: new Date().toISOString()});
    future = [];
    undoBtn.disabled = false;
    redoBtn.disabled = true;
  }

  function moveBlocks(list, to) {
    var moves = plannedMoves(list, to);
    if (!moves.length) { return 0; }
    apply(moves, false);
    record(moves);
    var m = moves[moves.length - 1];
    message.textContent = fmt(T.moved, {b: B.id[m[0]], f: units[m[1]].id, t: units[m[2]].id});
    return moves.length;
  }

  function undo() {
    var action = past.pop();
    if (!action) { return; }
    timed(function () { apply(action.moves.slice().reverse(), true); });
    future.push(action);
    refreshTotals();
  }
  function redo() {
    var action = future.pop();
    if (!action) { return; }
    timed(function () { apply(action.moves, false); });
    past.push(action);
    refreshTotals();
  }
  function reset() {
    var moves = [];
    for (var b = 0; b < n; b++) { if (unitOf[b] !== unit0[b]) { moves.push([b, unitOf[b], unit0[b]]); } }
    if (!moves.length) { return; }
    apply(moves, false);
    past.push({moves: moves, at: new Date().toISOString(), reset: true});
    future = [];
    refreshTotals();
  }

  function select(k) {
    var old = active;
    active = k;
    [old, k].forEach(function (j) {
      if (j < 0) { return; }
      units[j].members.forEach(function (b) { layers[b].setStyle(style(b)); });
      row(units[j]);
    });
    if (k >= 0) { message.textContent = fmt(T.picked, {u: units[k].id + " " + units[k].name}); }
    refreshTotals();
  }

  function createUnit() {
    var plain = units.every(function (u) { return /^U\d+$/.test(u.id); });
    var taken = new Set(units.map(function (u) { return u.id; }));
    var k = plain ? units.reduce(function (m, u) { return Math.max(m, parseInt(u.id.slice(1), 10)); }, 0) + 1 : 1;
    var id;
    do { id = (plain ? "U" : "NEW") + k++; } while (taken.has(id));
    var u = newUnit(id, id, D.colours.palette[units.length % D.colours.palette.length], null);
    evaluate(u);
    row(u);
    select(u.index);
    return id;
  }

  function onClick(b, ev) {
    if (brush) { return; }
    if (active < 0 || (ev.originalEvent && ev.originalEvent.altKey)) { select(unitOf[b]); return; }
    timed(function () { moveBlocks([b], active); });
  }
  function onPick(b, ev) {
    if (ev.originalEvent) { ev.originalEvent.preventDefault(); }
    select(unitOf[b]);
  }
  function onBrushStart(b) {
    if (!brush || active < 0) { return; }
    stroke = [];
    brushOne(b);
  }
  function onBrushOver(b) { if (stroke) { brushOne(b); } }
  function brushOne(b) {
    timed(function () {
      var moves = plannedMoves([b], active);
      if (moves.length) { apply(moves, false); stroke = stroke.concat(moves); }
    });
  }
  document.addEventListener("mouseup", function () {
    if (stroke) { record(stroke); stroke = null; refreshTotals(); }
  });
  function setBrush(on) {
    brush = on;
    brushBtn.classList.toggle("rd-on", on);
    if (on) { map.dragging.disable(); } else { map.dragging.enable(); }
  }
  document.addEventListener("keydown", function (ev) {
    if (!(ev.ctrlKey || ev.metaKey)) { if (ev.key === "Escape") { select(-1); } return; }
    var key = ev.key.toLowerCase();
    if (key === "z" && !ev.shiftKey) { ev.preventDefault(); undo(); }
    else if (key === "y" || (key === "z" && ev.shiftKey)) { ev.preventDefault(); redo(); }
  });

  // --- saving ------------------------------------------------------------------------------------

  function csvField(v) { return /[",\r\n]/.test(v) ? '"' + v.replace(/"/g, '""') + '"' : v; }
  function ascii(text) { var out = new Uint8Array(text.length); for (var k = 0; k < text.length; k++) { out[k] = text.charCodeAt(k); } return out; }
  function hexBytes(hex) { var out = new Uint8Array(hex.length / 2); for (var k = 0; k < out.length; k++) { out[k] = parseInt(hex.substr(2 * k, 2), 16); } return out; }
  function download(name, parts, type) {
    var a = document.createElement("a");
    a.href = URL.createObjectURL(new Blob(parts, {type: type}));
    a.download = name;
    document.body.appendChild(a);
    a.click();
    setTimeout(function () { URL.revokeObjectURL(a.href); a.remove(); }, 2000);
  }
  function saveCsv(gbk) {
    if (!gbk) {
      var lines = ["\ufeffblock_id,unit_id\n"];
      for (var b = 0; b < n; b++) { lines.push(csvField(B.id[b]) + "," + csvField(units[unitOf[b]].id) + "\n"); }
      download("edited_assignment.csv", [lines.join("")], "text/csv;charset=utf-8");
      return;
    }
    var parts = [ascii("block_id,unit_id\n")], comma = ascii(","), nl = ascii("\n");
    for (var j = 0; j < n; j++) {
      var u = units[unitOf[j]];
      parts.push(hexBytes(D.gbk.blocks[j]), comma, u.gbk ? hexBytes(u.gbk) : ascii(csvField(u.id)), nl);
    }
    download("edited_assignment_gbk.csv", parts, "text/csv;charset=gbk");
  }
  function editRecord() {
    var moves = [];
    past.forEach(function (action) {
      action.moves.forEach(function (m) { moves.push({block_id: B.id[m[0]], from: units[m[1]].id, to: units[m[2]].id, at: action.at}); });
    });
    var changed = [], assignment = [], rules = [];
    for (var b = 0; b < n; b++) {
      assignment.push([B.id[b], units[unitOf[b]].id]);
      if (unitOf[b] !== unit0[b]) { changed.push({block_id: B.id[b], solver_unit: units[unit0[b]].id, unit: units[unitOf[b]].id}); }
    }
    broken.forEach(function (k) { units[k].rules.forEach(function (r) { rules.push({kind: r.kind, unit: units[k].id, message: r.text}); }); });
    return {
      format: "redistrict-edit", version: 1, title: D.title, source: D.source, saved_at: new Date().toISOString(),
      bounds: {min: LO, max: HI}, locked_units: units.filter(function (u) { return u.locked; }).map(function (u) { return u.id; }),
      changed_units: units.filter(function (u) { return u.changed > 0; }).map(function (u) { return u.id; }),
      verdict: {ok: rules.length === 0, violations: rules}, moves: moves, changed: changed, assignment: assignment,
    };
  }
  function saveJson() { download("edit.json", [JSON.stringify(editRecord(), null, 1)], "application/json"); }

  // --- start -------------------------------------------------------------------------------------

  units.forEach(function (u) { evaluate(u); row(u); label(u); });
  for (i = 0; i < n; i++) { if (detached[i]) { layers[i].setStyle(style(i)); } }
  refreshTotals();

  /* A small programmatic handle (for tests and the browser console): figures, rules, moves. */
  window.redistrictEditor = {
    timings: timings,
    frames: frames,
    map: map,
    select: function (id) { select(units.findIndex(function (u) { return u.id === id; })); },
    move: function (blockId, unitId) { var to = units.findIndex(function (u) { return u.id === unitId; }); timed(function () { moveBlocks([blockIndex.get(blockId)], to); }); return units[unitOf[blockIndex.get(blockId)]].id; },
    undo: undo, redo: redo, reset: reset, createUnit: createUnit, setBrush: setBrush,
    lock: function (id, on) { var u = units.find(function (x) { return x.id === id; }); u.locked = on; u.lockBox.checked = on; refreshCommand(); },
    point: function (blockId) { var b = blockIndex.get(blockId); var p = map.latLngToContainerPoint(layers[b].getCenter()); var r = map.getContainer().getBoundingClientRect(); return {x: r.left + p.x, y: r.top + p.y}; },
    unitOf: function (blockId) { return units[unitOf[blockIndex.get(blockId)]].id; },
    units: function () { return units.filter(function (u) { return u.count > 0; }).map(function (u) { return {id: u.id, households: u.hh, population: u.popMissing ? null : u.pop, blocks: u.count, offices: u.offices, pieces: u.pieces, rules: u.rules.map(function (r) { return r.kind; })}; }); },
    record: editRecord,
  };

})();

(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("rd-data").textContent);
  if (!D.too_large) { return; }
  var T = D.text, info = D.too_large, panel = document.getElementById("rd-panel");
  document.getElementById("rd-map").remove();
  panel.classList.add("rd-wide");
  var h = panel.appendChild(document.createElement("h1"));
  h.textContent = D.title;
  var p = panel.appendChild(document.createElement("p"));
  p.className = "rd-too-large";
  p.textContent = T.too_large.replace("{n}", info.blocks.toLocaleString("en-US")).replace("{limit}", info.limit.toLocaleString("en-US"));
  var table = panel.appendChild(document.createElement("table"));
  table.className = "rd-units";
  info.subdistricts.forEach(function (s) {
    var tr = table.appendChild(document.createElement("tr"));
    [s.name, s.blocks.toLocaleString("en-US") + " " + T.blocks, s.command].forEach(function (text, k) {
      var td = tr.appendChild(document.createElement("td"));
      if (k === 2) { td.appendChild(document.createElement("code")).textContent = text; } else { td.textContent = text; }
    });
  });
})();
