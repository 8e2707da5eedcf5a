"""`manage.py check --deploy`: the shop's own secrets (Django's checks cover SECRET_KEY's strength).

Every secret is flagged unless it came from the environment and is not a public development
value: a generated one is per host (wrong for a deployment on several hosts, see
`yourlocalshop.install_secrets`), a public one lets anyone forge what it signs.
"""

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

from yourlocalshop.install_secrets import GENERATED, PUBLIC_VALUES

SECRETS = {
    # setting: (what it protects, check id suffix)
    "SECRET_KEY": ("sessions, CSRF tokens and password-reset links", "1"),
    "COURIER_WEBHOOK_SECRET": ("the courier's tracking events", "2"),
}


@register(Tags.security, deploy=True)
def check_secrets(app_configs, **kwargs):
    messages = []
    for name, (protects, number) in SECRETS.items():
        value = getattr(settings, name)
        if value in PUBLIC_VALUES:
            messages.append(
                Error(
                    f"{name} is a public development value: anyone can forge {protects}.",
                    hint=f"Set {name} to a long random value from your secret store.",
                    id=f"yourlocalshop.E00{number}",
                )
            )
        elif getattr(settings, f"{name}_SOURCE") == GENERATED:
            messages.append(
                Warning(
                    f"{name} was generated for this host and kept in {settings.SECRETS_DIR}, "
                    "not set in the environment.",
                    hint=f"Fine for a shop on one host. On several hosts set {name} in the "
                    "environment, or each host signs with its own value.",
                    id=f"yourlocalshop.W00{number}",
                )
            )
    return messages
