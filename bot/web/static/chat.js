// 村务助手 web chat. Protocol: see bot/channels/webchat/channel.py (module docstring).
(function () {
  "use strict";
  var MAX_TEXT = 2000;
  var MAX_UPLOAD = 10 * 1024 * 1024;
  var log = document.getElementById("log");
  var form = document.getElementById("form");
  var input = document.getElementById("text");
  var sendBtn = document.getElementById("send");
  var statusEl = document.getElementById("status");
  var photo = document.getElementById("photo");
  var locBtn = document.getElementById("loc-btn");
  var ws = null;
  var retry = 0;
  var seen = new Set();       // frame ids already shown (pushes may arrive twice)
  var pending = new Map();    // id -> frame sent but not answered; resent after a reconnect
  var rows = new Map();       // id -> the row of a message this page sent (to mark it not sent)
  var hint = null;

  function newId() {
    return "c" + Date.now().toString(36) + Math.random().toString(36).slice(2, 8);
  }

  function scrollDown() { log.scrollTop = log.scrollHeight; }

  function notice(text, isError) {
    var div = document.createElement("div");
    div.className = "notice" + (isError ? " error" : "");
    var span = document.createElement("span");
    span.textContent = text;
    div.appendChild(span);
    log.appendChild(div);
    scrollDown();
    return div;
  }

  var lastStamp = 0;
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  // A centred time label when a message comes more than five minutes after the previous one.
  function stamp(at) {
    var d = at ? new Date(at) : new Date();
    if (isNaN(d.getTime()) || d.getTime() - lastStamp < 5 * 60 * 1000) return;
    lastStamp = d.getTime();
    var now = new Date();
    var text = pad(d.getHours()) + ":" + pad(d.getMinutes());
    if (d.toDateString() !== now.toDateString()) {
      text = (d.getMonth() + 1) + "月" + d.getDate() + "日 " + text;
    }
    var div = document.createElement("div");
    div.className = "time";
    div.textContent = text;
    log.appendChild(div);
  }

  // A task push lists its attachments with their download links (a URL on a line of the
  // text, so other chat apps show it too): here they become links. Only our own download
  // path is linked, and only in what the bot says; the text itself stays text.
  var FILE_LINK = /(https?:\/\/[^\s]+\/attachments\/\d+(?:\?[^\s]*)?)/;
  function withLinks(el, text, who) {
    if (who !== "bot") { el.textContent = text; return; }
    text.split(FILE_LINK).forEach(function (piece, i) {
      if (i % 2 === 0) { if (piece) el.appendChild(document.createTextNode(piece)); return; }
      var a = document.createElement("a");
      a.className = "file"; a.href = piece; a.target = "_blank"; a.rel = "noopener";
      a.textContent = "⬇ 下载";
      el.appendChild(a);
    });
  }

  function bubble(who, msg) {
    stamp(msg.at);
    var row = document.createElement("div");
    row.className = "row " + who;
    var avatar = document.createElement("div");
    avatar.className = "avatar";
    avatar.textContent = who === "bot" ? "村" : "我";
    var body = document.createElement("div");
    body.className = "body";
    var b = document.createElement("div");
    b.className = "bubble";
    if (msg.image) {
      var a = document.createElement("a");
      a.href = msg.image; a.target = "_blank"; a.rel = "noopener";
      var img = document.createElement("img");
      img.src = msg.image; img.alt = "照片"; img.loading = "lazy";
      img.onload = scrollDown;
      a.appendChild(img);
      b.appendChild(a);
      if (!msg.text) b.classList.add("image");
    }
    if (msg.text) {
      var t = document.createElement("div");
      t.className = "caption";
      withLinks(t, msg.text, who);
      if (msg.image) { b.appendChild(t); } else { withLinks(b, msg.text, who); }
    }
    if (msg.link) {
      var link = document.createElement("a");
      link.className = "link"; link.href = msg.link; link.target = "_blank";
      link.rel = "noopener"; link.setAttribute("download", "");
      link.textContent = "⬇ 点击下载";
      if (!msg.text && !msg.image) { b.appendChild(link); } else {
        b.appendChild(document.createElement("br")); b.appendChild(link);
      }
    }
    body.appendChild(b);
    if (who === "bot" && msg.buttons && msg.buttons.length) {
      var bar = document.createElement("div");
      bar.className = "buttons";
      msg.buttons.forEach(function (btn) {
        var el = document.createElement("button");
        el.type = "button";
        el.textContent = btn.label;
        el.addEventListener("click", function () { press(btn); });
        bar.appendChild(el);
      });
      body.appendChild(bar);
    }
    row.appendChild(avatar);
    row.appendChild(body);
    log.appendChild(row);
    scrollDown();
    return row;
  }

  function showFrame(f) {
    if (f.id) {
      if (seen.has(f.id)) return;
      seen.add(f.id);
    }
    bubble("bot", f);
  }

  function setStatus(text, down) {
    statusEl.textContent = text;
    statusEl.className = down ? "down" : "";
  }

  function transmit(frame) {
    pending.set(frame.id, frame);
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(frame));
  }

  function answered(f) {
    if (f.reply_to && (f.final || f.type === "error")) {
      pending.delete(f.reply_to);
      rows.delete(f.reply_to);
    }
  }

  // The flood guard dropped these frames: they were not sent; say so on each bubble.
  function notSent(ids) {
    ids.forEach(function (id) {
      pending.delete(id);
      var row = rows.get(id);
      rows.delete(id);
      if (!row || row.classList.contains("failed")) return;
      row.classList.add("failed");
      var mark = document.createElement("div");
      mark.className = "unsent";
      mark.textContent = "未发出";
      mark.title = "发得太快了，这条没有发出去，请稍后重新发送。";
      row.querySelector(".body").appendChild(mark);
    });
  }

  // Binding or logging out gave this browser a new id: take its cookie (a WebSocket cannot
  // set one), so a reload or reconnect is the new session and the old id is nobody's.
  function adopt(token, bound) {
    fetch("/chat/session", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ token: token })
    }).catch(function () {
      notice("登录信息没有保存，请刷新页面。", true);
    });
    if (!bound) {
      log.innerHTML = "";
      seen.clear();
      pending.clear();
      rows.clear();
      lastStamp = 0;
      hint = notice("已退出登录。重新使用请发送「绑定 邀请码」。");
    }
  }

  // What the page says it sent, for frames that must be shown again after a reconnect.
  function echo(frame) {
    if (frame.type === "text") return { text: frame.text };
    if (frame.type === "button") return { text: frame.label || frame.payload };
    return { text: "📍 我的位置（" + frame.lat.toFixed(5) + ", " + frame.lon.toFixed(5) + "）" };
  }

  function sendText(text) {
    text = text.trim();
    if (!text) return;
    if (text.length > MAX_TEXT) {
      notice("消息太长了（最多 " + MAX_TEXT + " 字），请分几条发送。", true);
      return;
    }
    var id = newId();
    rows.set(id, bubble("me", { text: text }));
    transmit({ type: "text", text: text, id: id });
  }

  function press(btn) {
    var id = newId();
    rows.set(id, bubble("me", { text: btn.label }));
    transmit({ type: "button", payload: btn.payload, label: btn.label, id: id });
  }

  // An invite's QR code opens /chat#bind=CODE: the code is put in the box, ready to send
  // (never sent by itself), and taken out of the address. The fragment never reaches a server.
  function prefillBind() {
    var m = /^#bind=([A-Za-z0-9]{4,16})$/.exec(location.hash);
    if (!m) return;
    history.replaceState(null, "", location.pathname + location.search);
    input.value = "绑定 " + m[1].toUpperCase();
    sendBtn.disabled = false;
    input.focus();
  }

  function onFrame(f) {
    switch (f.type) {
      case "history":
        log.innerHTML = "";
        seen.clear();
        lastStamp = 0;
        f.messages.forEach(function (m) {
          if (m.id) seen.add(m.id);
          if (m.client_id) pending.delete(m.client_id);  // it arrived before the break
          bubble(m.from === "me" ? "me" : "bot", m);
        });
        pending.forEach(function (frame) {
          bubble("me", echo(frame));
          ws.send(JSON.stringify(frame));  // same id: the server handles it at most once
        });
        hint = null;
        if (!f.bound) {
          hint = notice("首次使用请发送「绑定 邀请码」，例如：绑定 K7M2Q9XA");
          prefillBind();
        }
        break;
      case "reply":
      case "push":
        answered(f);
        showFrame(f);
        break;
      case "ack":
        answered(f);
        break;
      case "status":
        if (f.bound && hint) { hint.remove(); hint = null; }
        if (f.session) adopt(f.session, f.bound);
        break;
      case "error":
        if (f.dropped) notSent(f.dropped);
        answered(f);
        notice(f.text, true);
        break;
      default:
        break;
    }
  }

  function connect() {
    var proto = location.protocol === "https:" ? "wss://" : "ws://";
    setStatus("连接中…", true);
    ws = new WebSocket(proto + location.host + "/chat/ws");
    ws.onopen = function () {
      retry = 0;
      setStatus("", false);  // unanswered frames are resent once the history has arrived
    };
    ws.onmessage = function (ev) {
      var f;
      try { f = JSON.parse(ev.data); } catch (e) { return; }
      onFrame(f);
    };
    ws.onclose = function () {
      setStatus("已断开，正在重连…", true);
      var wait = Math.min(10000, 1000 * Math.pow(2, retry++));
      setTimeout(connect, wait);
    };
  }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    sendText(input.value);
    input.value = "";
    sendBtn.disabled = true;
    input.focus();
  });

  photo.addEventListener("change", function () {
    var file = photo.files && photo.files[0];
    photo.value = "";
    if (!file) return;
    if (file.size > MAX_UPLOAD) {
      notice("照片太大了，请发送 10 MB 以内的照片。", true);
      return;
    }
    var id = newId();
    var row = bubble("me", { image: URL.createObjectURL(file) });
    row.classList.add("sending");
    var data = new FormData();
    data.append("id", id);
    data.append("photo", file, file.name || "photo.jpg");
    fetch("/chat/upload", { method: "POST", body: data, credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (res) {
        row.classList.remove("sending");
        if (!res.ok) { notice(res.text, true); return; }
        (res.frames || []).forEach(showFrame);
      })
      .catch(function () {
        row.classList.remove("sending");
        notice("照片没有发出去，请检查网络后重试。", true);
      });
  });

  locBtn.addEventListener("click", function () {
    if (!navigator.geolocation) {
      notice("这个浏览器不能获取位置。", true);
      return;
    }
    locBtn.disabled = true;
    navigator.geolocation.getCurrentPosition(function (pos) {
      locBtn.disabled = false;
      var lat = pos.coords.latitude, lon = pos.coords.longitude;
      bubble("me", { text: "📍 我的位置（" + lat.toFixed(5) + ", " + lon.toFixed(5) + "）" });
      transmit({ type: "location", lat: lat, lon: lon, label: "", id: newId() });
    }, function (err) {
      locBtn.disabled = false;
      notice("无法获取位置：" + (err.code === 1 ? "请允许浏览器使用位置权限。" : "请稍后再试。"), true);
    }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
  });

  input.addEventListener("input", function () { sendBtn.disabled = !input.value.trim(); });
  sendBtn.disabled = true;
  connect();
})();
