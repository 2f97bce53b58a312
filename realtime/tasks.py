from celery import shared_task

from realtime import services


@shared_task(name="realtime.tasks.recover_live_sessions", ignore_result=True)
def recover_live_sessions() -> int:
    """Save live sessions whose server went away (see services.recover_stale_sessions),
    and queue again the filling of gaps left unfilled."""
    services.requeue_gap_filling()
    return services.recover_stale_sessions()


@shared_task(
    name="realtime.tasks.fill_live_gaps",
    ignore_result=True,
    autoretry_for=(Exception,),
    max_retries=5,
    retry_backoff=30,
)
def fill_live_gaps(session_id: int) -> int:
    """Transcribe from the recording the parts of an ended live session that
    got no live text (see realtime/gaps.py)."""
    from realtime import gaps

    return gaps.fill_gaps(session_id)
