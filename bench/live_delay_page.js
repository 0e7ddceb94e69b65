// Installed by bench/live_delay.py into every page before the wall's own scripts run.
// Each tile's <video> gets a requestVideoFrameCallback loop: the frame being presented is drawn
// (only the time-code band, at the video's own size) onto a canvas, the clock camera's code is
// read (layout: src/custos/adapters/media/simcam/clock_camera.py), and
//   delay = performance.timeOrigin + metadata.expectedDisplayTime - code
// is kept while sampling is on. A click on a tile (capture phase, the click's own time stamp)
// marks the start of that tile's next "click -> first presented frame".
(() => {
  const B = (window.__bench = {
    sampling: false,
    everyMs: 100,  // read a tile's code at most this often (each read costs a canvas readback)
    samples: [],  // [tile, delay ms, code ms]
    bad: 0,       // frames whose code failed its markers or CRC
    firsts: [],   // {tile, ms, from: "click" | "load"}
  });
  const CELLS = 30, BITS = 48;

  function crc8(bytes) {
    let crc = 0;
    for (const b of bytes) {
      crc ^= b;
      for (let i = 0; i < 8; i++) crc = crc & 0x80 ? ((crc << 1) ^ 0x07) & 0xff : (crc << 1) & 0xff;
    }
    return crc;
  }

  function read(px, width, s) {
    const bits = [];
    for (let cell = 0; cell < 2 * CELLS; cell++) {
      const row = Math.floor(cell / CELLS), col = cell % CELLS;
      const x = col * s + (s >> 1), y = row * s + (s >> 1);  // the canvas starts at (s, s)
      const at = (y * width + x) * 4;
      bits.push(px[at] + px[at + 1] + px[at + 2] > 3 * 128 ? 1 : 0);
    }
    if (bits[0] !== 1 || bits[1] !== 0 || bits[58] !== 0 || bits[59] !== 1) return null;
    let ms = 0;
    const bytes = [0, 0, 0, 0, 0, 0];
    for (let i = 0; i < BITS; i++) {
      ms = ms * 2 + bits[2 + i];
      bytes[i >> 3] = (bytes[i >> 3] << 1) | bits[2 + i];
    }
    let check = 0;
    for (let i = 0; i < 8; i++) check = (check << 1) | bits[2 + BITS + i];
    return crc8(bytes) === check ? ms : null;
  }

  function tileOf(video) {
    const tile = video.closest(".tile");
    return tile ? Number(tile.dataset.tile) : -1;
  }

  function attach(video) {
    if (video.__bench) return;
    const st = (video.__bench = {
      armed: false, startAt: 0, from: "load", done: false, readAt: -1e9, firstPF: null, lastPF: null,
    });
    const canvas = document.createElement("canvas");
    const ctx = canvas.getContext("2d", { willReadFrequently: true });
    const arm = () => {
      if (st.armed) return;
      st.armed = true;
      video.requestVideoFrameCallback(onFrame);
    };
    function onFrame(_now, md) {
      st.armed = false;
      if (!st.done && md.expectedDisplayTime >= st.startAt) {
        st.done = true;
        B.firsts.push({ tile: tileOf(video), ms: md.expectedDisplayTime - st.startAt, from: st.from });
      }
      const w = video.videoWidth;
      if (B.sampling) {
        st.firstPF ??= md.presentedFrames;
        st.lastPF = md.presentedFrames;
      } else st.firstPF = null;
      if (B.sampling && w && md.expectedDisplayTime - st.readAt >= B.everyMs) {
        st.readAt = md.expectedDisplayTime;
        const s = Math.max(2, Math.floor(w / 40));
        const cw = CELLS * s, ch = 2 * s;
        if (canvas.width !== cw || canvas.height !== ch) { canvas.width = cw; canvas.height = ch; }
        ctx.drawImage(video, s, s, cw, ch, 0, 0, cw, ch);
        const code = read(ctx.getImageData(0, 0, cw, ch).data, cw, s);
        if (code === null) B.bad++;
        else B.samples.push([tileOf(video), performance.timeOrigin + md.expectedDisplayTime - code, code]);
      }
      arm();
    }
    video.__benchStart = (t) => { st.startAt = t; st.from = "click"; st.done = false; arm(); };
    for (const e of ["loadeddata", "playing", "emptied"]) video.addEventListener(e, arm);
    arm();
  }

  document.addEventListener("click", (e) => {
    const target = e.target instanceof Element ? e.target : null;
    if (!target || target.closest("button, select, input")) return;  // stop, camera pickers
    const tile = target.closest(".tile");
    const video = tile && tile.querySelector("video");
    if (video && video.__benchStart) video.__benchStart(e.timeStamp);
  }, true);
  /** Frames presented while sampling, all tiles together (from metadata.presentedFrames). */
  B.presented = () => [...document.querySelectorAll(".tile video")]
    .map((v) => (v.__bench && v.__bench.firstPF !== null ? v.__bench.lastPF - v.__bench.firstPF : 0))
    .reduce((a, b) => a + b, 0);
  setInterval(() => document.querySelectorAll(".tile video").forEach(attach), 100);
})();
