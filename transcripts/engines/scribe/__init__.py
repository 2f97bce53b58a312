"""The ElevenLabs Scribe batch engine: the only package that knows the
Scribe REST API (wire protocol: ../shared/scribe-api.md). `client` speaks
HTTP (retries, the concurrency cap, readable errors), `engine` turns a job
into a request and a response into the canonical transcript, `webhook`
verifies and reads the deliveries of webhook mode.

Worker model. A Scribe job is almost all waiting: an upload, then minutes of
silence until the transcript comes back. The `io` queue is therefore
served by a Celery *thread* pool with hundreds of threads
(`SCRIBE_WORKER_THREADS`); a thread blocked in `recv()` costs no CPU and a
few hundred KiB, so one 2-core host keeps hundreds of requests in flight.
(A prefork pool of 2 processes would run 2 at a time; gevent would need
psycopg and httpx to cooperate with monkey-patching; an asyncio loop would
need a second, async engine interface. Threads keep the engine a plain
synchronous function that the local engine shares.)

What makes hundreds of threads safe:
- Database connections: Postgres allows ~100. Each process takes them from
  a bounded pool (DATABASE_POOL_MAX_SIZE); this engine hands the calling
  thread's connection back before it waits on Scribe, so only the short
  claim and finish hold one; leases are renewed for all running jobs by one
  `LeaseKeeper` thread in one UPDATE.
- Scribe's concurrency limit is per account: a process-wide semaphore caps
  requests in flight at `SCRIBE_MAX_CONCURRENCY`; jobs above it wait their
  turn inside the worker (nothing is dropped; the job stays claimed, its
  lease kept alive).
- One httpx client per thread (httpcore's shared pool races under hundreds
  of threads), a new connection per request, explicit timeouts per phase.

Retries happen here and only here: 429, 5xx, 408, connection errors and
timeouts *before the request was fully sent*, with capped exponential backoff
and jitter, honouring `Retry-After`. Permanent errors raise
`PermanentEngineError` with a readable reason. If the connection fails after
the whole body was sent, Scribe may already be transcribing (and billing):
the request is never sent again blindly. In webhook mode the job waits for
the webhook (its `webhook_metadata` names the job) and the sweeper polls
`GET /v1/speech-to-text/transcripts/{id}`; in synchronous mode the answer is
unrecoverable (Scribe offers no lookup without the id), so the job fails with
a reason saying so, and the user decides whether to send it again.

Webhook mode is used when a webhook secret is configured
(`SCRIBE_WEBHOOK_SECRET`) and the recording is at least
`SCRIBE_WEBHOOK_MIN_DURATION` seconds long (0: every recording). Without a
secret, every request is synchronous.
"""
