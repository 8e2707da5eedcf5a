import pytest
from django.contrib.auth.models import Group

from accounts.tests.factories import UserFactory
from mockproviders.payment import MockPaymentGateway
from orders.gateways import GatewayTransientError


class RefundsDownGateway(MockPaymentGateway):
    """The mock provider whose refunds fail while `down` is set (charges still work)."""

    down = True

    def refund(self, **kwargs):
        if RefundsDownGateway.down:
            raise GatewayTransientError("Refunds are temporarily unavailable.")
        return super().refund(**kwargs)


@pytest.fixture
def refunds_down(settings):
    """Refunds fail until the test calls `refunds_down.recover()`."""
    settings.PAYMENT_GATEWAY = f"{__name__}.RefundsDownGateway"
    settings.PAYMENT_RETRY_BASE_SECONDS = 0
    RefundsDownGateway.down = True

    class Switch:
        @staticmethod
        def recover():
            RefundsDownGateway.down = False

    yield Switch
    RefundsDownGateway.down = True


@pytest.fixture
def returns_staff(db):
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name="Returns staff"))
    return user


@pytest.fixture
def returns_staff_client(api_client, returns_staff):
    api_client.force_authenticate(returns_staff)
    return api_client
