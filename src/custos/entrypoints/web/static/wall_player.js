// One live player of the duty wall: a registered WebSocket (one live-view session per socket)
// whose fragmented MP4 goes straight into Media Source Extensions, kept at the live edge.
// The message contract is docs/design/live.md, "Messages"; the older server (init with a codec
// only, status live|waiting) is understood too.

/** Whether this browser decodes H.265: the server then sends it as recorded, else H.264. */
export const HEVC = globalThis.MediaSource?.isTypeSupported('video/mp4; codecs="hvc1.1.6.L93.B0"') ? 1 : 0;

const BACKOFF_S = [1, 2, 4, 8, 10];
const BUSY_RETRY_S = 15;  // 4429: a transcode slot may free up; ask again later
const FINAL = { 4401: "signed_out", 4403: "no_permission", 4404: "refused" };
const TARGET_S = 0.15;  // wanted distance behind the newest frame with frame-level fragments
const KEEP_BEHIND_S = 5;  // buffer kept behind the play position; older media is removed

/** Events to ``onEvent``: {state, reason, since, message} | {path, source, codec} |
 * {dropped} | {session}. States: connecting, live, waiting, reconnecting, offline,
 * no_permission, refused, signed_out, busy, error. */
export class LivePlayer {
  constructor(video, cameraId, stream, onEvent) {
    this.video = video;
    this.cameraId = cameraId;
    this.stream = stream;
    this.onEvent = onEvent;
    this.items = [];  // in arrival order: {codec, path, source} before an init, ArrayBuffers
    this.ms = null;
    this.sb = null;
    this.codec = null;
    this.resetting = false;
    this.closed = false;
    this.gaveUp = false;
    this.attempt = 0;
    this.chunks = [];  // seconds added by the last appends: how coarse the feed is
    this.lastError = null;
    this.t0 = performance.now();
    delete video.dataset.firstFrameMs;
    delete video.dataset.session;
    this.firstFrame();
    this.watchdog = setInterval(() => this.keepPlaying(), 1000);
    this.connect();
  }

  mark(name) { this.video.dataset[name] = String(Math.round(performance.now() - this.t0)); }

  /** Start to first decoded frame, kept on the video for the latency benches. */
  firstFrame() {
    const v = this.video;
    const done = () => { if (!this.closed && !v.dataset.firstFrameMs) this.mark("firstFrameMs"); };
    if (v.requestVideoFrameCallback) v.requestVideoFrameCallback(done);
    else v.addEventListener("loadeddata", done, { once: true });
  }

  connect() {
    if (this.closed) return;
    this.onEvent({ state: this.attempt ? "reconnecting" : "connecting" });
    const proto = location.protocol === "https:" ? "wss" : "ws";
    const url = `${proto}://${location.host}/api/v1/live/cameras/${this.cameraId}/stream?stream=${this.stream}&hevc=${HEVC}`;
    const ws = new WebSocket(url);
    this.ws = ws;
    this.lastError = null;
    ws.binaryType = "arraybuffer";
    ws.onopen = () => { if (!this.video.dataset.wsOpenMs) this.mark("wsOpenMs"); };
    ws.onmessage = (m) => { if (ws === this.ws) this.message(m); };
    ws.onclose = (e) => { if (ws === this.ws) this.closedBy(e.code); };
  }

  message(m) {
    if (typeof m.data !== "string") {
      if (!this.video.dataset.firstDataMs) this.mark("firstDataMs");
      this.attempt = 0;  // the feed works: the next break starts the back-off again
      this.items.push(m.data);
      this.pump();
      return;
    }
    const msg = JSON.parse(m.data);
    if (msg.type === "session") {
      this.video.dataset.session = String(msg.session_id);
      if (!this.video.dataset.sessionMs) this.mark("sessionMs");
      this.onEvent({ session: msg.session_id });
    } else if (msg.type === "init") {
      this.items.push({ codec: msg.codec, path: msg.path, source: msg.source });
      this.onEvent({ path: msg.path ?? null, source: msg.source ?? null, codec: msg.codec });
      this.pump();
    } else if (msg.type === "status") {
      this.onEvent({ state: msg.state, reason: msg.reason ?? null, since: msg.since ?? null });
    } else if (msg.type === "dropped") {
      this.onEvent({ dropped: msg.count });
    } else if (msg.type === "error") {
      this.lastError = msg;
    }
  }

  closedBy(code) {
    if (this.closed || this.gaveUp) return;
    const message = this.lastError?.message ?? null;
    if (FINAL[code]) { this.onEvent({ state: FINAL[code], message }); return; }
    let wait;
    if (code === 4429) {
      this.onEvent({ state: "busy", message });
      wait = BUSY_RETRY_S;
    } else {
      wait = BACKOFF_S[Math.min(this.attempt, BACKOFF_S.length - 1)];
      this.onEvent({ state: "reconnecting", retryS: wait });
    }
    this.attempt += 1;
    this.retry = setTimeout(() => this.connect(), wait * 1000);
  }

  /** Append what arrived, one buffer at a time; a new codec gets a new MediaSource. */
  async pump() {
    while (!this.closed && !this.resetting && this.items.length) {
      const item = this.items[0];
      if (!(item instanceof ArrayBuffer)) {
        this.items.shift();
        if (item.codec !== this.codec || !this.sb) await this.reset(item.codec);
        continue;
      }
      if (!this.sb || this.ms.readyState !== "open") { this.items.shift(); continue; }  // no init yet
      if (this.sb.updating) return;  // updateend pumps again
      try {
        this.sb.appendBuffer(item);
        this.items.shift();
        this.endBefore = this.bufferedEnd();
      } catch (err) {
        if (err.name === "QuotaExceededError") this.trim(1);
        else this.broken(String(err));
      }
      return;
    }
  }

  async reset(codec) {
    const type = `video/mp4; codecs="${codec}"`;
    if (!codec || !MediaSource.isTypeSupported(type)) {
      // Nothing this browser can play: say so and stop (asking again would get the same).
      this.codec = null;
      this.sb = null;
      this.gaveUp = true;
      this.onEvent({ state: "error", message: `codec ${codec}`, unsupported: codec ?? "?" });
      try { this.ws.close(); } catch { /* gone already */ }
      return;
    }
    this.resetting = true;
    const ms = new MediaSource();
    const old = this.video.src;
    this.video.src = URL.createObjectURL(ms);
    if (old) URL.revokeObjectURL(old);
    await new Promise((resolve) => ms.addEventListener("sourceopen", resolve, { once: true }));
    this.resetting = false;
    if (this.closed) return;
    this.ms = ms;
    this.codec = codec;
    this.sb = ms.addSourceBuffer(type);
    this.sb.mode = "sequence";  // a new session's timestamps restart: play on without a gap
    this.sb.addEventListener("updateend", () => this.appended());
    this.chunks = [];
    this.video.play().catch(() => {});
    this.pump();
  }

  bufferedEnd() {
    const b = this.sb?.buffered;
    return b && b.length ? b.end(b.length - 1) : null;
  }

  appended() {
    if (this.closed) return;
    const end = this.bufferedEnd();
    if (end !== null && this.endBefore !== null && this.endBefore !== undefined && end > this.endBefore) {
      this.chunks.push(end - this.endBefore);
      if (this.chunks.length > 8) this.chunks.shift();
    }
    this.endBefore = null;
    this.chase();
    if (!this.trim(KEEP_BEHIND_S)) this.pump();
  }

  /** Keep the play position just behind the newest frame: jump when far behind, play a little
   * faster when slightly behind. A feed in GOP-sized pieces (the file tail) cannot be closer
   * than one piece, so the target grows with the piece. */
  chase() {
    const v = this.video;
    const b = this.sb.buffered;
    if (!b.length) return;
    const start = b.start(b.length - 1);
    const end = b.end(b.length - 1);
    if (!v.dataset.firstFrameMs) {
      // A new viewer gets the GOP so far at once: show its keyframe now (the first frame comes
      // without decoding the whole GOP), and catch up with the live edge once it is on screen.
      if (v.currentTime < start) v.currentTime = start;
      if (v.paused) v.play().catch(() => {});
      return;
    }
    const piece = this.chunks.length ? Math.max(...this.chunks) : 0;
    const lead = Math.max(0.1, piece);
    if (v.currentTime < start) v.currentTime = Math.max(start, end - lead);
    const lag = end - v.currentTime;
    if (lag > Math.max(0.5, piece + 0.5)) {
      v.currentTime = end - lead;
      v.dataset.jumps = String(Number(v.dataset.jumps || 0) + 1);
    } else if (piece < 0.5) {
      if (lag > TARGET_S + 0.1) v.playbackRate = 1.1;
      else if (lag <= TARGET_S) v.playbackRate = 1.0;
    } else v.playbackRate = 1.0;
    v.dataset.lagMs = String(Math.round((end - v.currentTime) * 1000));
    if (v.paused) v.play().catch(() => {});
  }

  /** Remove media more than ``keep`` seconds behind the play position, a second or more at a
   * time (true: removing; its updateend pumps again). */
  trim(keep) {
    const b = this.sb?.buffered;
    if (!b || !b.length || this.sb.updating) return false;
    const upTo = this.video.currentTime - keep;
    if (upTo - b.start(0) < 1) return false;
    this.sb.remove(b.start(0), upTo);
    return true;
  }

  /** The video must never stay paused, nor far behind while the feed stalls and resumes. */
  keepPlaying() {
    const v = this.video;
    if (!this.sb || this.closed) return;
    if (v.error) { this.broken(v.error.message || `media error ${v.error.code}`); return; }
    if (v.paused && this.bufferedEnd() !== null) v.play().catch(() => {});
    if (!this.sb.updating && this.ms.readyState === "open") this.chase();
  }

  /** The decoder refused the media: start again on a fresh socket (a fresh init). */
  broken(message) {
    this.onEvent({ state: "error", message });
    this.codec = null;
    this.sb = null;
    this.items = [];
    try { this.ws.close(); } catch { /* reconnects anyway */ }
  }

  close() {
    this.closed = true;
    clearTimeout(this.retry);
    clearInterval(this.watchdog);
    try { this.ws.close(); } catch { /* closing anyway */ }
    try { if (this.ms?.readyState === "open") this.ms.endOfStream(); } catch { /* closing anyway */ }
    const src = this.video.src;
    this.video.removeAttribute("src");
    this.video.load();
    if (src) URL.revokeObjectURL(src);
  }
}
