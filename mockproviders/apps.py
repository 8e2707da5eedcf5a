from django.apps import AppConfig


class MockProvidersConfig(AppConfig):
    """The simulated payment provider and courier of development, demos and tests.

    Installed only while a setting chooses one of its gateways (settings.py), so a shop that runs
    real providers has none of its tables: they stand in for the providers' own databases.
    """

    name = "mockproviders"
    verbose_name = "Mock providers (development and tests)"
