/* 走访地图: draws what /console/visits/map.json says, with no network beyond this site (and the
   tile server, when one is configured). Web-mercator projection fitted to the points; nearby
   points merge into one numbered circle (a grid of CELL pixels); each village is labelled at
   its centre (the median of its visits, computed on the server); points far from their
   village's centre are drawn apart, in red, with the distance. */
(function () {
  "use strict";
  var NS = "http://www.w3.org/2000/svg";
  var TILE = 256, CELL = 26, PAD = 24;

  function el(name, attrs, parent) {
    var node = document.createElementNS(NS, name);
    Object.keys(attrs).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (parent) parent.appendChild(node);
    return node;
  }
  function title(node, text) { el("title", {}, node).textContent = text; }

  // World pixel coordinates at zoom 0 (a 256-pixel square world).
  function project(lat, lon) {
    var s = Math.sin(Math.max(-85, Math.min(85, lat)) * Math.PI / 180);
    return [(lon + 180) / 360 * TILE, (0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI)) * TILE];
  }

  function frame(data, width, height) {
    var near = data.points.filter(function (p) { return !p.far; });
    var ref = near.concat(data.villages);
    if (!ref.length) ref = data.points;
    var xs = [], ys = [];
    ref.forEach(function (p) { var w = project(p.lat, p.lon); xs.push(w[0]); ys.push(w[1]); });
    var x0 = Math.min.apply(null, xs), x1 = Math.max.apply(null, xs);
    var y0 = Math.min.apply(null, ys), y1 = Math.max.apply(null, ys);
    var span = Math.max((x1 - x0) / (width - 2 * PAD), (y1 - y0) / (height - 2 * PAD), 1e-9);
    var zoom = Math.min(17, Math.max(3, Math.log(1 / span) / Math.LN2));
    var scale = Math.pow(2, zoom);
    var cx = (x0 + x1) / 2 * scale - width / 2, cy = (y0 + y1) / 2 * scale - height / 2;
    return {
      zoom: zoom, scale: scale, left: cx, top: cy,
      at: function (lat, lon) {
        var w = project(lat, lon);
        return [w[0] * scale - cx, w[1] * scale - cy];
      }
    };
  }

  function tiles(svg, url, f, width, height) {
    var z = Math.floor(f.zoom), k = Math.pow(2, f.zoom - z), size = TILE * k, n = Math.pow(2, z);
    var tx0 = Math.floor(f.left / size), ty0 = Math.floor(f.top / size);
    var tx1 = Math.floor((f.left + width) / size), ty1 = Math.floor((f.top + height) / size);
    var layer = el("g", { "class": "tiles" }, svg);
    for (var tx = tx0; tx <= tx1; tx++) {
      for (var ty = Math.max(0, ty0); ty <= Math.min(n - 1, ty1); ty++) {
        var wrapped = ((tx % n) + n) % n;
        el("image", {
          href: url.replace("{z}", z).replace("{x}", wrapped).replace("{y}", ty),
          x: tx * size - f.left, y: ty * size - f.top, width: size, height: size
        }, layer);
      }
    }
  }

  function clamp(xy, width, height) {
    return [Math.max(8, Math.min(width - 8, xy[0])), Math.max(8, Math.min(height - 8, xy[1]))];
  }

  function drawCells(svg, cells) {
    Object.keys(cells).forEach(function (key) {
      var c = cells[key], n = c.points.length;
      if (n === 1) {
        var p = c.points[0];
        var a = el("a", { href: "/console/households/" + p.household }, svg);
        title(el("circle", { "class": "pt", cx: c.x, cy: c.y, r: 5 }, a), p.name + " " + p.at);
        return;
      }
      var g = el("g", { "class": "cluster" }, svg);
      var x = c.sx / n, y = c.sy / n;
      el("circle", { cx: x, cy: y, r: Math.min(20, 8 + 3 * Math.log(n)) }, g);
      el("text", { x: x, y: y }, g).textContent = String(n);
      title(g, n + " 次走访");
    });
  }

  function draw(box, data) {
    var width = Math.max(300, Math.min(1100, box.clientWidth || 600));
    var height = Math.round(Math.min(560, width * 0.8));
    var svg = el("svg", { viewBox: "0 0 " + width + " " + height, role: "img", "aria-label": "走访位置" });
    var f = frame(data, width, height);
    if (data.tile_url) tiles(svg, data.tile_url, f, width, height);
    var cells = {};
    var far = [];
    data.points.forEach(function (p) {
      var xy = f.at(p.lat, p.lon);
      if (p.far) { far.push([p, clamp(xy, width, height)]); return; }
      var key = Math.floor(xy[0] / CELL) + ":" + Math.floor(xy[1] / CELL);
      var c = cells[key] || (cells[key] = { points: [], sx: 0, sy: 0, x: xy[0], y: xy[1] });
      c.points.push(p); c.sx += xy[0]; c.sy += xy[1];
    });
    // Villages under the points (a cluster's count stays readable), labels beside them.
    data.villages.forEach(function (v) {
      var xy = f.at(v.lat, v.lon);
      var g = el("g", { "class": "village" }, svg);
      el("rect", { x: xy[0] - 4, y: xy[1] - 4, width: 8, height: 8, transform: "rotate(45 " + xy[0] + " " + xy[1] + ")" }, g);
      el("text", { x: xy[0] + 14, y: xy[1] - 10 }, g).textContent = v.name;
      title(g, v.town + " " + v.name + "（中心）");
    });
    drawCells(svg, cells);
    far.forEach(function (item) {
      var p = item[0], xy = item[1];
      var a = el("a", { "class": "far", href: "/console/households/" + p.household }, svg);
      title(el("circle", { "class": "pt far", cx: xy[0], cy: xy[1], r: 6 }, a),
        p.name + " " + p.at + " 离村中心 " + p.km.toFixed(1) + " 公里");
      el("text", { "class": "km", x: xy[0] + 8, y: xy[1] + 4 }, a).textContent = p.km.toFixed(1) + " km";
    });
    box.textContent = "";
    box.appendChild(svg);
    box.setAttribute("data-drawn", String(data.points.length));
  }

  var box = document.getElementById("map");
  if (!box) return;
  fetch(box.getAttribute("data-src"), { credentials: "same-origin" })
    .then(function (r) { if (!r.ok) throw new Error("map data " + r.status); return r.json(); })
    .then(function (data) { draw(box, data); })
    .catch(function (err) { box.setAttribute("data-error", String(err)); });
})();
