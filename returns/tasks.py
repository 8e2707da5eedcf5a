from datetime import timedelta

from celery import shared_task

from returns import services

# A return received this long ago but neither refunded nor failed had its process stopped.
RESUME_REFUNDS_OLDER_THAN = timedelta(minutes=5)


@shared_task(name="returns.resume_refunds", acks_late=True, soft_time_limit=100, time_limit=120)
def returns_resume_refunds_task() -> list[str]:
    return services.return_refunds_resume(older_than=RESUME_REFUNDS_OLDER_THAN)
