// 村务助手 web chat. Protocol: see bot/channels/webchat/channel.py (module docstring).
// Weak signal: everything the person sends goes through an outbox kept in IndexedDB (marked
// 待发送 until the server acknowledges it by its client id) and is sent in order when the
// connection is back; the last history is kept there too, so the page opens without signal.
(function () {
  "use strict";
  // Every sentence this page shows, in one place.
  var T = {
    waiting: "待发送",
    sending: "发送中…",
    uploading: "上传中 {p}%",
    notSent: "未发出，点击重试",
    tooFast: "发得太快了，这条没有发出去，请点击重试。",
    offline: "无网络，消息会在有信号后自动发出",
    connecting: "连接中…",
    reconnecting: "已断开，正在重连…",
    tooLong: "消息太长了：最多 {max} 字，现在 {n} 字，请删减 {over} 字或分几条发送。",
    count: "{n}/{max} 字",
    photoTooBig: "照片太大了，请发送 10 MB 以内的照片。",
    photoUnreadable: "这张照片无法读取，请换一张照片。",
    sessionLost: "登录信息没有保存，请刷新页面。",
    loggedOut: "已退出登录。重新使用请发送「绑定 邀请码」。",
    bindHint: "首次使用请发送「绑定 邀请码」，例如：绑定 K7M2Q9XA",
    fileLink: "⬇ 下载",
    noGeo: "这个浏览器不能获取位置。",
    geoFailed: "无法获取位置：",
    geoDenied: "请允许浏览器使用位置权限。",
    geoLater: "请稍后再试。",
    myPlace: "📍 我的位置（{lat}, {lon}）",
    photoAlt: "照片",
    download: "⬇ 点击下载",
    me: "我",
    bot: "村",
    voiceHold: "按住说话",
    voiceRecording: "正在录音 {s} 秒… 松开发送，移开取消",
    voiceRelease: "松开手指，取消发送",
    voiceCancelled: "已取消，这段语音没有发送。",
    voiceMax: "一段语音最长 {max} 秒，已自动结束并发送。",
    voiceDenied: "请允许浏览器使用麦克风，才能发语音。",
    voiceFailed: "无法录音，请稍后再试或改发文字。",
    voiceTooBig: "这段语音太大了，请分几段发送。",
    voiceAlt: "语音"
  };
  var MAX_TEXT = 2000;                 // characters, as the server counts them
  var MAX_UPLOAD = 10 * 1024 * 1024;
  var MAX_SIDE = 2048;                 // photos are shrunk to this longest side before upload
  var QUALITY = 0.8;
  var KEEP = 50;                       // history messages kept for opening without signal
  var MAX_VOICE = 5 * 1024 * 1024;    // the server's limit for a voice note
  var MAX_VOICE_SECONDS = 60;
  var MIN_HOLD_MS = 500;               // a shorter press is a tap: show 按住说话
  var EXIF_TIME = /^\d{4}:\d{2}:\d{2} \d{2}:\d{2}:\d{2}$/;

  var log = document.getElementById("log");
  var form = document.getElementById("form");
  var input = document.getElementById("text");
  var sendBtn = document.getElementById("send");
  var statusEl = document.getElementById("status");
  var countEl = document.getElementById("count");
  var photo = document.getElementById("photo");
  var locBtn = document.getElementById("loc-btn");
  var voiceBtn = document.getElementById("voice-btn");
  var ws = null;
  var live = false;           // the socket is open and its history has arrived
  var retry = 0;
  var timer = null;
  var seen = new Set();       // frame ids already shown (pushes may arrive twice)
  var rows = new Map();       // client id -> the row of a message still in the outbox
  var queue = [];             // the outbox, oldest first: {id, seq, kind, frame|blob, state}
  var cache = [];             // the history as last known, for opening without signal
  var busy = null;            // the outbox item being sent: {item, done(outcome)}
  var hint = null;
  var seq = 0;

  function fill(text, values) {
    return text.replace(/\{(\w+)\}/g, function (_, k) { return String(values[k]); });
  }

  function newId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return "c" + Date.now().toString(36) + Math.random().toString(36).slice(2, 10);
  }

  // --- IndexedDB: the outbox and the last history ----------------------------------------
  var dbReady = new Promise(function (resolve) {
    if (!window.indexedDB) { resolve(null); return; }
    var req;
    try { req = indexedDB.open("cunbot-chat", 1); } catch (e) { resolve(null); return; }
    req.onupgradeneeded = function () {
      req.result.createObjectStore("outbox", { keyPath: "id" });
      req.result.createObjectStore("meta");
    };
    req.onsuccess = function () { resolve(req.result); };
    req.onerror = req.onblocked = function () { resolve(null); };
  });

  function store(name, mode, work) {
    return dbReady.then(function (db) {
      if (!db) return null;
      return new Promise(function (resolve) {
        var tx = db.transaction(name, mode);
        var req = work(tx.objectStore(name));
        tx.oncomplete = function () { resolve(req ? req.result : null); };
        tx.onerror = tx.onabort = function () { resolve(null); };
      });
    }).catch(function () { return null; });
  }

  function saveItem(item) {
    var copy = {};
    Object.keys(item).forEach(function (k) { if (k !== "preview") copy[k] = item[k]; });
    return store("outbox", "readwrite", function (s) { return s.put(copy); });
  }

  function dropItem(id) {
    queue = queue.filter(function (i) { return i.id !== id; });
    return store("outbox", "readwrite", function (s) { return s.delete(id); });
  }

  function remember(msg) {
    cache.push(msg);
    if (cache.length > KEEP) cache = cache.slice(-KEEP);
    saveHistory();
  }

  function saveHistory() {
    var copy = cache.slice();
    return store("meta", "readwrite", function (s) { return s.put(copy, "history"); });
  }

  // --- drawing ---------------------------------------------------------------------------
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
      a.textContent = T.fileLink;
      el.appendChild(a);
    });
  }

  function content(b, msg, who) {
    if (msg.audio) {
      var player = document.createElement("audio");
      player.controls = true; player.preload = "metadata"; player.src = msg.audio;
      player.title = T.voiceAlt;
      b.appendChild(player);
      b.classList.add("voice");
    }
    if (msg.image) {
      var a = document.createElement("a");
      a.href = msg.image; a.target = "_blank"; a.rel = "noopener";
      var img = document.createElement("img");
      img.src = msg.image; img.alt = T.photoAlt; img.loading = "lazy";
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
      link.textContent = T.download;
      if (!msg.text && !msg.image) { b.appendChild(link); } else {
        b.appendChild(document.createElement("br")); b.appendChild(link);
      }
    }
  }

  function bubble(who, msg) {
    stamp(msg.at);
    var row = document.createElement("div");
    row.className = "row " + who;
    var avatar = document.createElement("div");
    avatar.className = "avatar";
    avatar.textContent = who === "bot" ? T.bot : T.me;
    var body = document.createElement("div");
    body.className = "body";
    var b = document.createElement("div");
    b.className = "bubble";
    content(b, msg, who);
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

  // The state under an outbox message: 待发送, 发送中…, 上传中 n%, or 未发出 (tap to retry).
  function mark(id, state, text) {
    var row = rows.get(id);
    if (!row) return;
    var el = row.querySelector(".mark");
    if (!el) {
      el = document.createElement("button");
      el.type = "button";
      el.addEventListener("click", function () { resend(id); });
      row.querySelector(".body").appendChild(el);
    }
    row.classList.toggle("failed", state === "failed");
    row.classList.toggle("sending", state !== "failed");
    el.className = "mark " + state;
    el.disabled = state !== "failed";
    el.textContent = state === "failed" ? T.notSent : text;
    el.title = state === "failed" ? (row.dataset.reason || "") : "";
  }

  function landed(id) {
    var row = rows.get(id);
    rows.delete(id);
    if (!row) return;
    row.classList.remove("sending", "failed");
    var el = row.querySelector(".mark");
    if (el) el.remove();
  }

  // Photos and voice notes go by POST /chat/upload, everything else over the socket.
  function isFile(item) { return item.kind === "photo" || item.kind === "voice"; }

  function preview(item) {
    if (!isFile(item)) return item.echo;
    if (!item.preview) item.preview = URL.createObjectURL(item.blob);
    return item.kind === "voice" ? { audio: item.preview } : { image: item.preview };
  }

  function showItem(item) {
    rows.set(item.id, bubble("me", preview(item)));
    if (item.state === "failed") {
      rows.get(item.id).dataset.reason = item.reason || "";
      mark(item.id, "failed");
    } else {
      mark(item.id, "queued", T.waiting);
    }
  }

  function showAll(messages) {
    log.innerHTML = "";
    seen.clear();
    rows.clear();
    lastStamp = 0;
    messages.forEach(function (m) {
      if (m.id) seen.add(m.id);
      bubble(m.from === "me" ? "me" : "bot", m);
    });
    queue.forEach(showItem);
  }

  function showFrame(f) {
    if (f.id) {
      if (seen.has(f.id)) return;
      seen.add(f.id);
    }
    bubble("bot", f);
    remember({ from: "bot", id: f.id || null, text: f.text, buttons: f.buttons || [],
      image: f.image, link: f.link, at: new Date().toISOString(), client_id: null });
  }

  var connStatus = ["", false];  // the connection's status, shown again after a recording

  function setStatus(text, down) {
    connStatus = [text, down];
    showStatus(text, down);
  }

  function showStatus(text, down) {
    statusEl.textContent = text;
    statusEl.className = down ? "down" : "";
  }

  // --- the outbox ------------------------------------------------------------------------
  function enqueue(item) {
    item.seq = Date.now() * 1000 + (seq++ % 1000);
    item.state = "queued";
    queue.push(item);
    showItem(item);
    saveItem(item).then(pump);
  }

  function resend(id) {
    var item = queue.find(function (i) { return i.id === id; });
    if (!item || item.state !== "failed") return;
    item.state = "queued";
    mark(id, "queued", T.waiting);
    saveItem(item).then(pump);
  }

  function online() {
    return live && navigator.onLine !== false;
  }

  // Send the oldest waiting message, wait for the server's answer to its id, then the next.
  function pump() {
    if (busy || !online()) return;
    var item = queue.find(function (i) { return i.state === "queued"; });
    if (!item) return;
    var attempt = { item: item };
    var finished = new Promise(function (resolve) { attempt.done = resolve; });
    busy = attempt;
    mark(item.id, "sending", T.sending);
    if (isFile(item)) { upload(attempt); } else { ws.send(JSON.stringify(item.frame)); }
    finished.then(function (outcome) {
      busy = null;
      settle(item, outcome);
      // A failed upload with the socket still up: try again a little later, not in a loop.
      if (outcome.later && isFile(item)) { setTimeout(pump, 3000); } else { pump(); }
    });
  }

  function settle(item, outcome) {
    if (outcome.ok) {
      landed(item.id);
      if (queue.indexOf(item) < 0) return;  // logged out meanwhile: keep nothing of it
      dropItem(item.id);
      var sent = isFile(item)
        ? { image: outcome.image || null, audio: outcome.audio || null, text: "" }
        : { text: item.echo.text };
      sent.from = "me"; sent.at = new Date().toISOString(); sent.client_id = item.id;
      remember(sent);
      return;
    }
    if (outcome.later) {
      mark(item.id, "queued", T.waiting);
      return;
    }
    item.state = "failed";
    item.reason = outcome.text || "";
    var row = rows.get(item.id);
    if (row) row.dataset.reason = item.reason;
    mark(item.id, "failed");
    saveItem(item);
  }

  function answer(id, outcome) {
    if (busy && busy.item.id === id) busy.done(outcome);
  }

  // The flood guard dropped these frames: they were not sent; say so on each bubble.
  function dropped(ids, text) {
    ids.forEach(function (id) {
      var item = queue.find(function (i) { return i.id === id; });
      if (!item) return;
      if (busy && busy.item === item) { answer(id, { text: text }); return; }
      settle(item, { text: text || T.tooFast });
    });
  }

  // A (re)connected socket's history: what arrived before the break is done; the rest is
  // sent again with the same ids (the server stores each id once).
  function reconcile(messages) {
    var arrived = new Set();
    messages.forEach(function (m) { if (m.client_id) arrived.add(m.client_id); });
    queue.filter(function (i) { return arrived.has(i.id); }).forEach(function (i) {
      dropItem(i.id);
    });
    cache = messages.slice(-KEEP);
    saveHistory();
    showAll(messages);
  }

  // --- photos: shrunk in the page, the original's EXIF time sent along ----------------------
  function upload(attempt) {
    var item = attempt.item;
    var data = new FormData();
    data.append("id", item.id);
    if (item.takenAt) data.append("taken_at", item.takenAt);
    if (item.kind === "voice") {
      var ext = /ogg/.test(item.blob.type) ? ".ogg" : /mp4/.test(item.blob.type) ? ".m4a" : ".webm";
      data.append("voice", item.blob, "voice" + ext);  // the server goes by the bytes
    } else {
      data.append("photo", item.blob, "photo.jpg");
    }
    var xhr = new XMLHttpRequest();
    xhr.open("POST", "/chat/upload");
    xhr.upload.onprogress = function (ev) {
      if (ev.lengthComputable) {
        mark(item.id, "sending", fill(T.uploading, { p: Math.floor(100 * ev.loaded / ev.total) }));
      }
    };
    xhr.onload = function () {
      var res = null;
      try { res = JSON.parse(xhr.responseText); } catch (e) { res = null; }
      if (xhr.status === 200 && res && res.ok) {
        (res.frames || []).forEach(function (f) { if (f.type === "reply") showFrame(f); });
        attempt.done({ ok: true, image: res.image, audio: res.audio });
      } else if (xhr.status >= 400 && xhr.status < 500 && res) {
        notice(res.text, true);
        attempt.done({ text: res.text });
      } else {
        attempt.done({ later: true });  // 5xx or no answer: the server may be restarting
      }
    };
    xhr.onerror = xhr.ontimeout = xhr.onabort = function () { attempt.done({ later: true }); };
    xhr.send(data);
  }

  function blobBuffer(blob) {
    if (blob.arrayBuffer) return blob.arrayBuffer();
    return new Promise(function (resolve, reject) {
      var r = new FileReader();
      r.onload = function () { resolve(r.result); };
      r.onerror = reject;
      r.readAsArrayBuffer(blob);
    });
  }

  // EXIF DateTimeOriginal (else DateTime) of a JPEG, "YYYY:MM:DD HH:MM:SS", or "".
  function exifTime(buf) {
    var v = new DataView(buf);
    if (v.byteLength < 4 || v.getUint16(0) !== 0xFFD8) return "";
    var off = 2;
    while (off + 10 <= v.byteLength) {
      var marker = v.getUint16(off);
      if ((marker & 0xFF00) !== 0xFF00 || marker === 0xFFDA) return "";
      if (marker === 0xFFE1 && v.getUint32(off + 4) === 0x45786966) return tiffTime(v, off + 10);
      off += 2 + v.getUint16(off + 2);
    }
    return "";
  }

  function tiffTime(v, base) {
    try {
      var little = v.getUint16(base) === 0x4949;
      var u16 = function (o) { return v.getUint16(base + o, little); };
      var u32 = function (o) { return v.getUint32(base + o, little); };
      var find = function (ifd, tag) {
        for (var i = 0, n = u16(ifd); i < n; i++) {
          if (u16(ifd + 2 + i * 12) === tag) return ifd + 2 + i * 12;
        }
        return -1;
      };
      var ascii = function (entry) {
        var at = u32(entry + 4) > 4 ? u32(entry + 8) : entry + 8;
        var s = "";
        for (var i = 0; i < 19; i++) s += String.fromCharCode(v.getUint8(base + at + i));
        return EXIF_TIME.test(s) ? s : "";
      };
      var ifd0 = u32(4);
      var sub = find(ifd0, 0x8769);
      var original = sub >= 0 ? find(u32(sub + 8), 0x9003) : -1;
      if (original >= 0) return ascii(original);
      var plain = find(ifd0, 0x0132);
      return plain >= 0 ? ascii(plain) : "";
    } catch (e) {
      return "";  // a broken EXIF block: the photo goes without a time
    }
  }

  function decode(file) {
    return new Promise(function (resolve, reject) {
      var url = URL.createObjectURL(file);
      var img = new Image();
      img.onload = function () { URL.revokeObjectURL(url); resolve(img); };
      img.onerror = function () { URL.revokeObjectURL(url); reject(new Error("decode")); };
      img.src = url;
    });
  }

  // A JPEG of at most MAX_SIDE px on the longest side; the original when it cannot be drawn
  // (the server then decides) or when it is already small and smaller than the copy.
  function shrink(file) {
    return decode(file).then(function (img) {
      var w = img.naturalWidth, h = img.naturalHeight;
      var scale = Math.min(1, MAX_SIDE / Math.max(w, h));
      var canvas = document.createElement("canvas");
      canvas.width = Math.max(1, Math.round(w * scale));
      canvas.height = Math.max(1, Math.round(h * scale));
      canvas.getContext("2d").drawImage(img, 0, 0, canvas.width, canvas.height);
      return new Promise(function (resolve) {
        canvas.toBlob(function (blob) {
          var keep = !blob || (scale === 1 && file.size <= blob.size && file.size <= MAX_UPLOAD);
          resolve(keep ? file : blob);
        }, "image/jpeg", QUALITY);
      });
    }, function () { return file; });
  }

  function preparePhoto(file) {
    var taken = blobBuffer(file.slice(0, 256 * 1024)).then(exifTime, function () { return ""; });
    return Promise.all([shrink(file), taken]).then(function (got) {
      if (got[0].size > MAX_UPLOAD) { notice(T.photoTooBig, true); return; }
      enqueue({ id: newId(), kind: "photo", blob: got[0], takenAt: got[1] });
    });
  }

  // --- frames from the server ------------------------------------------------------------
  // Binding or logging out gave this browser a new id: take its cookie (a WebSocket cannot
  // set one), so a reload or reconnect is the new session and the old id is nobody's.
  function adopt(token, bound) {
    fetch("/chat/session", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ token: token })
    }).catch(function () {
      notice(T.sessionLost, true);
    });
    if (!bound) {  // what this browser kept belongs to the person who just left
      queue = [];
      cache = [];
      store("outbox", "readwrite", function (s) { return s.clear(); });
      saveHistory();
      showAll([]);
      hint = notice(T.loggedOut);
    }
  }

  // An invite's QR code opens /chat#bind=CODE: the code is put in the box, ready to send
  // (never sent by itself), and taken out of the address. The fragment never reaches a server.
  function prefillBind() {
    var m = /^#bind=([A-Za-z0-9]{4,16})$/.exec(location.hash);
    if (!m) return;
    history.replaceState(null, "", location.pathname + location.search);
    input.value = "绑定 " + m[1].toUpperCase();
    composerChanged();
    input.focus();
  }

  function onFrame(f) {
    switch (f.type) {
      case "history":
        reconcile(f.messages || []);
        live = true;
        hint = f.bound ? null : notice(T.bindHint);
        if (!f.bound) prefillBind();
        pump();
        break;
      case "reply":
      case "push":
        showFrame(f);
        if (f.reply_to && f.final) answer(f.reply_to, { ok: true });
        break;
      case "ack":
        answer(f.reply_to, { ok: true });
        break;
      case "status":
        if (f.bound && hint) { hint.remove(); hint = null; }
        if (f.session) adopt(f.session, f.bound);
        break;
      case "error":
        notice(f.text, true);
        if (f.dropped) { dropped(f.dropped, f.text); } else if (f.reply_to) {
          answer(f.reply_to, { text: f.text });
        }
        break;
      default:
        break;
    }
  }

  // --- the connection ----------------------------------------------------------------------
  function connect() {
    clearTimeout(timer);
    timer = null;
    if (ws && ws.readyState <= WebSocket.OPEN) return;
    var proto = location.protocol === "https:" ? "wss://" : "ws://";
    setStatus(navigator.onLine === false ? T.offline : T.connecting, true);
    var sock = new WebSocket(proto + location.host + "/chat/ws");
    ws = sock;
    sock.onopen = function () {
      retry = 0;
      setStatus("", false);  // the outbox is sent once the history has arrived
    };
    sock.onmessage = function (ev) {
      var f;
      try { f = JSON.parse(ev.data); } catch (e) { return; }
      if (sock === ws) onFrame(f);
    };
    sock.onclose = function () {
      if (sock !== ws) return;
      live = false;
      if (busy && !isFile(busy.item)) busy.done({ later: true });
      setStatus(navigator.onLine === false ? T.offline : T.reconnecting, true);
      var wait = Math.min(10000, 1000 * Math.pow(2, retry++));
      timer = setTimeout(connect, wait);
    };
  }

  window.addEventListener("online", function () { retry = 0; connect(); });
  // A socket without signal only pretends to be open: drop it now (its close may take long)
  // so what is typed next waits in the outbox instead of a dead socket's buffer.
  window.addEventListener("offline", function () {
    var sock = ws;
    ws = null;
    live = false;
    if (busy && !isFile(busy.item)) busy.done({ later: true });
    setStatus(T.offline, true);
    if (sock) sock.close();
    clearTimeout(timer);
    timer = setTimeout(connect, 1000);
  });

  // --- the composer ----------------------------------------------------------------------
  function length(text) { return Array.from(text).length; }  // code points, as the server

  function composerChanged() {
    var n = length(input.value);
    var over = n > MAX_TEXT;
    sendBtn.disabled = !input.value.trim() || over;
    countEl.hidden = n <= MAX_TEXT * 0.8;
    countEl.className = over ? "over" : "";
    countEl.textContent = over
      ? fill(T.tooLong, { max: MAX_TEXT, n: n, over: n - MAX_TEXT })
      : fill(T.count, { n: n, max: MAX_TEXT });
    input.style.height = "auto";
    input.style.height = Math.min(input.scrollHeight, 160) + "px";
  }

  function sendText() {
    var text = input.value.trim();
    if (!text || length(text) > MAX_TEXT) { composerChanged(); return; }
    var id = newId();
    enqueue({ id: id, kind: "frame", frame: { type: "text", text: text, id: id }, echo: { text: text } });
    input.value = "";
    composerChanged();
    input.focus();
  }

  function press(btn) {
    var id = newId();
    enqueue({ id: id, kind: "frame", echo: { text: btn.label },
      frame: { type: "button", payload: btn.payload, label: btn.label, id: id } });
  }

  // Phones: the return key adds a line and 发送 sends. Keyboards: Enter sends, Shift+Enter
  // adds a line. An Enter that ends an input method's composition (拼音) is not a send.
  function phone() {
    return !!(window.matchMedia && matchMedia("(hover: none) and (pointer: coarse)").matches);
  }

  input.addEventListener("keydown", function (ev) {
    if (ev.key !== "Enter" || ev.shiftKey || ev.isComposing || ev.keyCode === 229) return;
    if (phone()) return;
    ev.preventDefault();
    sendText();
  });

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    sendText();
  });

  photo.addEventListener("change", function () {
    var files = Array.prototype.slice.call(photo.files || []);
    photo.value = "";
    // One after another, so they are queued (and sent) in the order they were picked.
    files.reduce(function (prev, file) {
      return prev.then(function () { return preparePhoto(file); });
    }, Promise.resolve()).catch(function () { notice(T.photoUnreadable, true); });
  });

  locBtn.addEventListener("click", function () {
    if (!navigator.geolocation) {
      notice(T.noGeo, true);
      return;
    }
    locBtn.disabled = true;
    navigator.geolocation.getCurrentPosition(function (pos) {
      locBtn.disabled = false;
      var lat = pos.coords.latitude, lon = pos.coords.longitude;
      var id = newId();
      enqueue({ id: id, kind: "frame",
        echo: { text: fill(T.myPlace, { lat: lat.toFixed(5), lon: lon.toFixed(5) }) },
        frame: { type: "location", lat: lat, lon: lon, label: "", id: id } });
    }, function (err) {
      locBtn.disabled = false;
      notice(T.geoFailed + (err.code === 1 ? T.geoDenied : T.geoLater), true);
    }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
  });

  // --- voice notes: hold 🎤 to record, release to send, slide off or cancel to drop ---------
  function voiceType() {
    var types = ["audio/webm;codecs=opus", "audio/ogg;codecs=opus", "audio/webm", "audio/ogg"];
    for (var i = 0; i < types.length; i++) {
      if (MediaRecorder.isTypeSupported && MediaRecorder.isTypeSupported(types[i])) return types[i];
    }
    return "";  // the browser's own choice; the server decides by the bytes
  }

  var rec = null;  // the press in progress: {start, pointer, outside, stream, recorder, chunks}

  function recTick() {
    if (!rec) return;
    var s = Math.floor((Date.now() - rec.start) / 1000);
    showStatus(rec.outside ? T.voiceRelease : fill(T.voiceRecording, { s: s }), rec.outside);
  }

  function recStop(send) {
    var r = rec;
    rec = null;
    if (!r) return;
    clearInterval(r.ticker);
    clearTimeout(r.limit);
    voiceBtn.classList.remove("recording", "outside");
    showStatus(connStatus[0], connStatus[1]);
    r.send = send;
    if (r.recorder && r.recorder.state !== "inactive") { r.recorder.stop(); } else { recDone(r); }
  }

  function recDone(r) {
    if (r.stream) r.stream.getTracks().forEach(function (t) { t.stop(); });
    if (!r.send || !r.chunks.length) return;
    var blob = new Blob(r.chunks, { type: (r.recorder && r.recorder.mimeType) || "audio/webm" });
    if (blob.size > MAX_VOICE) { notice(T.voiceTooBig, true); return; }
    enqueue({ id: newId(), kind: "voice", blob: blob });
  }

  function recBegin(r, stream) {
    r.stream = stream;
    if (rec !== r) { recDone(r); return; }  // released before the microphone was ready
    var type = voiceType();
    try {
      r.recorder = type ? new MediaRecorder(stream, { mimeType: type }) : new MediaRecorder(stream);
    } catch (e) {
      recStop(false);
      notice(T.voiceFailed, true);
      return;
    }
    r.recorder.ondataavailable = function (ev) { if (ev.data && ev.data.size) r.chunks.push(ev.data); };
    r.recorder.onstop = function () { recDone(r); };
    r.recorder.start();
    r.limit = setTimeout(function () {
      notice(fill(T.voiceMax, { max: MAX_VOICE_SECONDS }));
      recStop(true);
    }, MAX_VOICE_SECONDS * 1000);
  }

  function outsideButton(ev) {
    var box = voiceBtn.getBoundingClientRect();
    var m = 24;  // a finger may wander a little without cancelling
    return ev.clientX < box.left - m || ev.clientX > box.right + m ||
      ev.clientY < box.top - m || ev.clientY > box.bottom + m;
  }

  function setupVoice() {
    if (!window.MediaRecorder || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      return;  // the button stays hidden
    }
    voiceBtn.hidden = false;
    voiceBtn.addEventListener("contextmenu", function (ev) { ev.preventDefault(); });
    voiceBtn.addEventListener("click", function (ev) { ev.preventDefault(); });
    voiceBtn.addEventListener("pointerdown", function (ev) {
      if (rec || (ev.pointerType === "mouse" && ev.button !== 0)) return;
      ev.preventDefault();
      try { voiceBtn.setPointerCapture(ev.pointerId); } catch (e) { /* released already */ }
      var r = { start: Date.now(), pointer: ev.pointerId, outside: false, chunks: [] };
      rec = r;
      voiceBtn.classList.add("recording");
      r.ticker = setInterval(recTick, 500);
      recTick();
      navigator.mediaDevices.getUserMedia({ audio: true }).then(function (stream) {
        recBegin(r, stream);
      }, function (err) {
        if (rec === r) recStop(false);
        var denied = err && (err.name === "NotAllowedError" || err.name === "SecurityError");
        notice(denied ? T.voiceDenied : T.voiceFailed, true);
      });
    });
    voiceBtn.addEventListener("pointermove", function (ev) {
      if (!rec || ev.pointerId !== rec.pointer) return;
      rec.outside = outsideButton(ev);
      voiceBtn.classList.toggle("outside", rec.outside);
      recTick();
    });
    voiceBtn.addEventListener("pointerup", function (ev) {
      if (!rec || ev.pointerId !== rec.pointer) return;
      // Too short, or let go before the microphone was ready (e.g. answering the browser's
      // permission question the first time): nothing recorded, say how it works.
      var tap = Date.now() - rec.start < MIN_HOLD_MS || !rec.recorder;
      var away = outsideButton(ev);
      recStop(!tap && !away);
      if (tap) { notice(T.voiceHold); } else if (away) { notice(T.voiceCancelled); }
    });
    voiceBtn.addEventListener("pointercancel", function (ev) {
      if (!rec || ev.pointerId !== rec.pointer) return;
      recStop(false);
      notice(T.voiceCancelled);
    });
  }

  setupVoice();

  input.addEventListener("input", composerChanged);
  composerChanged();

  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/chat/sw.js", { scope: "/chat" }).catch(function () {});
  }

  // Open with what this browser kept (history and the outbox), then connect.
  Promise.all([
    store("meta", "readonly", function (s) { return s.get("history"); }),
    store("outbox", "readonly", function (s) { return s.getAll(); })
  ]).then(function (got) {
    cache = Array.isArray(got[0]) ? got[0] : [];
    queue = (got[1] || []).sort(function (a, b) { return a.seq - b.seq; });
    if (!live) showAll(cache);
  }).catch(function () {}).then(connect);
})();
