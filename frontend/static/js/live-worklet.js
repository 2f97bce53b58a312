// AudioWorklet: microphone audio (any rate, channel 0) -> 16 kHz mono
// 16-bit PCM, posted to the page in chunks of about 200 ms with the peak
// level of the chunk for the meter.

const TARGET_RATE = 16000;
const CHUNK_SAMPLES = 3200; // 200 ms at 16 kHz

class PcmProcessor extends AudioWorkletProcessor {
  constructor() {
    super();
    this.ratio = sampleRate / TARGET_RATE; // `sampleRate` is the context's rate
    this.position = 0; // fractional read position into the pending input
    this.pending = new Float32Array(0);
    this.out = new Int16Array(CHUNK_SAMPLES);
    this.filled = 0;
    this.peak = 0;
  }

  process(inputs) {
    const channel = inputs[0] && inputs[0][0];
    if (!channel) return true;
    const joined = new Float32Array(this.pending.length + channel.length);
    joined.set(this.pending);
    joined.set(channel, this.pending.length);
    let pos = this.position;
    // Linear interpolation between neighbouring input samples.
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
