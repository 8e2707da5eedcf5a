import threading

import pytest
from django.core.exceptions import ImproperlyConfigured

from yourlocalshop.install_secrets import ENVIRONMENT, GENERATED, install_secret


def test_install_secret_from_the_environment_is_used_as_is(tmp_path):
    assert install_secret(
        "SECRET_KEY", value="s3cr3t-from-vault", directory=tmp_path, debug=False
    ) == (
        "s3cr3t-from-vault",
        ENVIRONMENT,
    )
    assert not list(tmp_path.iterdir())


def test_install_secret_is_generated_once_and_kept_for_every_later_process(tmp_path):
    first, source = install_secret("SECRET_KEY", value="", directory=tmp_path, debug=False)
    again, _ = install_secret("SECRET_KEY", value="", directory=tmp_path, debug=False)
    other, _ = install_secret("COURIER_WEBHOOK_SECRET", value="", directory=tmp_path, debug=False)

    assert source == GENERATED
    assert first == again != other
    assert len(first) >= 50
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


def test_install_secret_processes_starting_together_agree(tmp_path):
    values = []
    threads = [
        threading.Thread(
            target=lambda: values.append(
                install_secret("SECRET_KEY", value="", directory=tmp_path, debug=False)[0]
            )
        )
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(values) == 8 and len(set(values)) == 1
    assert [path.name for path in tmp_path.iterdir()] == ["secret_key"]


def test_install_secret_public_value_is_refused_unless_debugging(tmp_path):
    with pytest.raises(ImproperlyConfigured, match="public development value"):
        install_secret(
            "COURIER_WEBHOOK_SECRET",
            value="dev-courier-webhook-secret",
            directory=tmp_path,
            debug=False,
        )
    assert install_secret(
        "COURIER_WEBHOOK_SECRET", value="dev-courier-webhook-secret", directory=tmp_path, debug=True
    ) == ("dev-courier-webhook-secret", ENVIRONMENT)
