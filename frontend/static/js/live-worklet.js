// AudioWorklet: microphone audio (channel 0) -> 16 kHz mono 16-bit PCM,
// posted to the page in chunks of about 200 ms with the peak level of the
// chunk for the meter. The page asks for a 16 kHz AudioContext, where the
// browser resamples properly and this passes samples through; at another
// rate (a browser that refuses 16 kHz) the audio is low-pass filtered below
// 8 kHz before it is decimated, since speech energy above it would
// otherwise fold back into the band the recogniser listens to.

const TARGET_RATE = 16000;
const CHUNK_SAMPLES = 3200; // 200 ms at 16 kHz
const FILTER_TAPS = 63;

// A windowed-sinc (Hamming) low-pass at `cutoff` (a fraction of the input rate).
function lowPass(cutoff, taps) {
  const middle = (taps - 1) / 2;
  const kernel = new Float32Array(taps);
  let sum = 0;
  for (let i = 0; i < taps; i++) {
    const x = i - middle;
    const sinc = x === 0 ? 2 * cutoff : Math.sin(2 * Math.PI * cutoff * x) / (Math.PI * x);
    kernel[i] = sinc * (0.54 - 0.46 * Math.cos((2 * Math.PI * i) / (taps - 1)));
    sum += kernel[i];
  }
  return kernel.map((value) => value / sum);
}

class PcmProcessor extends AudioWorkletProcessor {
  constructor() {
    super();
    this.ratio = sampleRate / TARGET_RATE; // `sampleRate` is the context's rate
    // Cut a little below the new Nyquist (8 kHz), relative to the input rate.
    this.kernel = this.ratio > 1 ? lowPass((0.45 * TARGET_RATE) / sampleRate, FILTER_TAPS) : null;
    this.history = new Float32Array(FILTER_TAPS - 1);
    this.position = 0; // fractional read position into the pending input
    this.pending = new Float32Array(0);
    this.out = new Int16Array(CHUNK_SAMPLES);
    this.filled = 0;
    this.peak = 0;
  }

  filtered(block) {
    if (!this.kernel) return block;
    const taps = this.kernel.length;
    const padded = new Float32Array(this.history.length + block.length);
    padded.set(this.history);
    padded.set(block, this.history.length);
    const out = new Float32Array(block.length);
    for (let i = 0; i < block.length; i++) {
      let acc = 0;
      for (let k = 0; k < taps; k++) acc += this.kernel[k] * padded[i + k];
      out[i] = acc;
    }
    this.history = padded.slice(block.length);
    return out;
  }

  process(inputs) {
    const channel = inputs[0] && inputs[0][0];
    if (!channel) return true;
    const input = this.filtered(channel);
    const joined = new Float32Array(this.pending.length + input.length);
    joined.set(this.pending);
    joined.set(input, this.pending.length);
    let pos = this.position;
    // Linear interpolation between neighbouring (band-limited) samples.
    while (pos + 1 < joined.length) {
      const index = Math.floor(pos);
      const frac = pos - index;
      const sample = joined[index] * (1 - frac) + joined[index + 1] * frac;
      const clamped = Math.max(-1, Math.min(1, sample));
      this.peak = Math.max(this.peak, Math.abs(clamped));
      this.out[this.filled++] = clamped < 0 ? clamped * 32768 : clamped * 32767;
      if (this.filled === CHUNK_SAMPLES) this.flush();
      pos += this.ratio;
    }
    const keep = Math.floor(pos);
    this.pending = joined.slice(keep);
    this.position = pos - keep;
    return true;
  }

  flush() {
    const pcm = this.out.slice(0, this.filled).buffer;
    this.port.postMessage({ pcm, level: this.peak }, [pcm]);
    this.filled = 0;
    this.peak = 0;
  }
}

registerProcessor("pcm-16k", PcmProcessor);
