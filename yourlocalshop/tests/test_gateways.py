from fulfilment.gateways import courier_gateway
from mockproviders.courier import MockCourierGateway
from mockproviders.payment import MockPaymentGateway
from orders.gateways import payment_gateway


class RecordingCourier(MockCourierGateway):
    pass


class RecordingPayments(MockPaymentGateway):
    pass


def test_each_gateway_is_a_new_instance_of_the_class_its_setting_names(settings):
    # The payment provider comes timed (orders.gateways.TimedPaymentGateway, for its metrics).
    assert type(payment_gateway().gateway) is MockPaymentGateway
    assert type(courier_gateway()) is MockCourierGateway
    assert courier_gateway() is not courier_gateway()

    settings.PAYMENT_GATEWAY = f"{__name__}.RecordingPayments"
    settings.COURIER_GATEWAY = f"{__name__}.RecordingCourier"

    assert type(payment_gateway().gateway) is RecordingPayments
    assert type(courier_gateway()) is RecordingCourier
