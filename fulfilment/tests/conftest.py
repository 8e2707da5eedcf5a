import pytest

from mockproviders.courier import MockCourierGateway
from yourlocalshop.celery import app as celery_app


@pytest.fixture(autouse=True)
def eager_celery():
    """Tasks run in-process here even when REDIS_URL points at a real broker (the worker tests
    switch this off): nothing else consumes the queue during the suite."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture(autouse=True)
def courier_up():
    MockCourierGateway.simulated_outages = 0
    yield
    MockCourierGateway.simulated_outages = 0


@pytest.fixture
def courier_outage():
    def start(failures: int) -> None:
        MockCourierGateway.simulated_outages = failures

    return start
