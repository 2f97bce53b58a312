"""Engines for tests only, registered in a worker through EXTRA_ENGINES
(for example `EXTRA_ENGINES=crash=tests.engines.SelfKillingEngine`)."""

from __future__ import annotations

import os
import signal

from transcripts.engines import EngineJob, EngineResult


class SelfKillingEngine:
    """Kills the process running the job, the way the OOM killer would."""

    name = "crash"

    def transcribe(self, job: EngineJob) -> EngineResult:
        job.progress(0.1)
        os.kill(os.getpid(), signal.SIGKILL)
        raise AssertionError("unreachable: the process is dead")
