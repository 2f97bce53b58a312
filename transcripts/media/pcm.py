"""The one PCM format of live audio and of engine input: 16 kHz mono
16-bit little-endian (Scribe's `pcm_16000`, Whisper's native rate)."""

SAMPLE_RATE = 16000
SAMPLE_WIDTH = 2  # bytes
BYTES_PER_SECOND = SAMPLE_RATE * SAMPLE_WIDTH
