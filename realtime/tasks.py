from celery import shared_task

from realtime import services


@shared_task(name="realtime.tasks.recover_live_sessions", ignore_result=True)
def recover_live_sessions() -> int:
    """Save live sessions whose server went away (see services.recover_stale_sessions)."""
    return services.recover_stale_sessions()
