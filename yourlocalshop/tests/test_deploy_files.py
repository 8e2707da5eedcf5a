"""The deployment files cannot run here (no Docker, no cluster), so they are kept honest by reading
them: every key they set is one the settings read, the commands match the Celery app and the
scheduler the settings name, the image runs as a non-root user and probes /api/health/ready, and the
Kubernetes manifests hold the processes docs/deployment.md describes."""

import gc
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
APP_IMAGE_SERVICES = ("app", "worker", "beat")
CELERY_APP = "yourlocalshop"
READINESS_PATH = "/api/health/ready"
LIVENESS_PATH = "/api/health/live"

# Read by the container (Dockerfile, docker/entrypoint.sh, docker/healthcheck.py, gunicorn),
# not by Django settings.
PROCESS_KEYS = {
    "WEB_CONCURRENCY",
    "PORT",
    "RUN_MIGRATIONS",
    "HEALTHCHECK_HOST",
    "PROMETHEUS_MULTIPROC_DIR",
}


def settings_env_keys() -> set[str]:
    source = (ROOT / "yourlocalshop" / "settings.py").read_text()
    return set(re.findall(r"\benv(?:\.\w+)?\(\s*\"([A-Z][A-Z0-9_]*)\"", source))


def env_example_entries() -> dict[str, str | None]:
    """Key → documented default; None for a commented-out key (its default is computed)."""
    entries: dict[str, str | None] = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if match := re.fullmatch(r"([A-Z][A-Z0-9_]*)=(.*)", line):
            entries[match[1]] = match[2]
        elif match := re.fullmatch(r"# ([A-Z][A-Z0-9_]*)=(.*)", line):
            entries[match[1]] = None
    return entries


def env_example_keys_have_comments() -> list[str]:
    lines = (ROOT / ".env.example").read_text().splitlines()
    uncommented = []
    for index, line in enumerate(lines):
        if re.fullmatch(r"#? ?[A-Z][A-Z0-9_]*=.*", line) and not line.startswith("# "):
            # A key is explained by the comment block right above it (possibly over a group).
            previous = index - 1
            while previous >= 0 and re.fullmatch(r"[A-Z][A-Z0-9_]*=.*", lines[previous]):
                previous -= 1
            if previous < 0 or not lines[previous].startswith("#"):
                uncommented.append(line)
    return uncommented


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def k8s_documents() -> list[dict]:
    documents = []
    for path in sorted((ROOT / "deploy" / "k8s").glob("*.yaml")):
        documents.extend(
            {**document, "_file": path.name}
            for document in yaml.safe_load_all(path.read_text())
            if document
        )
    return documents


def command_text(command) -> str:
    return " ".join(command) if isinstance(command, list) else command


# --- .env.example -------------------------------------------------------------------------------


def test_env_example_documents_every_key_the_settings_read():
    keys = settings_env_keys()
    assert {"DEBUG", "SECRET_KEY", "DATABASE_URL", "REDIS_URL", "LOG_FORMAT"} <= keys

    missing = keys - env_example_entries().keys()

    assert not missing, f"keys read in settings.py but missing from .env.example: {missing}"


def test_env_example_holds_no_key_nobody_reads():
    unknown = env_example_entries().keys() - settings_env_keys() - PROCESS_KEYS

    assert not unknown, f".env.example documents keys nothing reads: {unknown}"


def test_env_example_explains_every_key():
    assert env_example_keys_have_comments() == []


def test_env_example_values_are_the_defaults():
    """Loading .env.example must leave every setting as it is without it (it documents defaults)."""
    probe = (
        # A developer's `.env` must not make the two runs differ.
        "import environ; environ.Env.read_env = lambda *args, **kwargs: None; "
        "import json, sys, django; from django.conf import settings; django.setup(); "
        "names = [n for n in sys.argv[1:] if hasattr(settings, n)]; "
        "print(json.dumps({n: str(getattr(settings, n)) for n in names}))"
    )
    documented = {key: value for key, value in env_example_entries().items() if value is not None}
    clean_environment = {
        key: value
        for key, value in os.environ.items()
        if key not in settings_env_keys() and key not in PROCESS_KEYS
    }

    def start(extra_environment: dict[str, str]) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-c", probe, *sorted(documented)],
            stdout=subprocess.PIPE,
            env={**clean_environment, **extra_environment},
            cwd=ROOT,
            text=True,
        )

    # Both start together: a Django start-up costs seconds.
    with_example, without = start(documented), start({})
    values = [
        json.loads(process.communicate(timeout=120)[0]) for process in (with_example, without)
    ]

    assert with_example.returncode == without.returncode == 0
    assert values[0] == values[1]


# --- docker-compose.yml -------------------------------------------------------------------------


def test_compose_runs_app_database_redis_worker_and_beat():
    services = compose()["services"]

    assert {"app", "db", "redis", "worker", "beat"} <= services.keys()
    assert services["db"]["image"].startswith("postgres:")
    assert any(volume.endswith(":/var/lib/postgresql/data") for volume in services["db"]["volumes"])
    assert "pg_isready" in command_text(services["db"]["healthcheck"]["test"])
    assert services["redis"]["image"].startswith("redis:")


def test_compose_commands_match_the_celery_app_and_the_beat_scheduler():
    services = compose()["services"]
    celery_source = (ROOT / "yourlocalshop" / "celery.py").read_text()

    assert f'Celery("{CELERY_APP}")' in celery_source
    assert command_text(services["worker"]["command"]).startswith(f"celery -A {CELERY_APP} worker")
    beat = command_text(services["beat"]["command"])
    assert beat.startswith(f"celery -A {CELERY_APP} beat")
    assert f"--scheduler {settings.CELERY_BEAT_SCHEDULER}" in beat
    app = command_text(services["app"]["command"])
    assert app.startswith(f"gunicorn {settings.WSGI_APPLICATION.rsplit('.', 1)[0]}:application")
    assert "--reload" in app  # live reload of the bind-mounted source in development
    assert ".:/app" in services["app"]["volumes"]


def test_compose_environment_uses_only_known_keys_and_reaches_its_own_services():
    services = compose()["services"]
    known = settings_env_keys() | PROCESS_KEYS

    for name in APP_IMAGE_SERVICES:
        environment = services[name]["environment"]
        assert environment.keys() <= known, f"{name}: unknown keys {environment.keys() - known}"
        assert environment.keys() <= env_example_entries().keys()
        assert "@db:5432/" in environment["DATABASE_URL"]
        assert environment["DATABASE_URL"].startswith("postgres://")
        assert environment["REDIS_URL"].startswith("redis://redis:6379/")

    database = services["db"]["environment"]
    expected_url = (
        f"postgres://{database['POSTGRES_USER']}:{database['POSTGRES_PASSWORD']}"
        f"@db:5432/{database['POSTGRES_DB']}"
    )
    assert services["app"]["environment"]["DATABASE_URL"] == expected_url


def test_compose_lets_only_the_web_container_migrate():
    services = compose()["services"]

    assert services["app"]["environment"]["RUN_MIGRATIONS"] == "1"
    assert services["worker"]["environment"]["RUN_MIGRATIONS"] == "0"
    assert services["beat"]["environment"]["RUN_MIGRATIONS"] == "0"
    for name in ("worker", "beat"):
        assert services[name]["depends_on"]["app"]["condition"] == "service_healthy"
    assert services["app"]["depends_on"]["db"]["condition"] == "service_healthy"


def test_every_shape_runs_the_postgresql_major_of_the_image_s_pg_dump():
    """pg_dump refuses a newer server and pg_restore an archive of a newer pg_dump: compose's
    database, the CI service and the image's client (Debian bookworm's: 15) share one major, so a
    backup taken in one shape restores in the other (docs/operations.md)."""
    bookworm_client_major = "15"
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "ci.yml").read_text())
    ci_services = [job.get("services", {}) for job in workflow["jobs"].values()]
    runs = " ".join(argument for keyword, argument in dockerfile_instructions() if keyword == "RUN")

    assert compose()["services"]["db"]["image"] == f"postgres:{bookworm_client_major}"
    assert [
        services["postgres"]["image"] for services in ci_services if "postgres" in services
    ] == [f"postgres:{bookworm_client_major}"]
    assert dockerfile_instructions()[0][1].endswith("-bookworm")
    assert "apt-get install -y --no-install-recommends postgresql-client" in runs


# --- Dockerfile and entry point -----------------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    instructions = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, argument = line.partition(" ")
            instructions.append((keyword.upper(), argument.strip()))
    return instructions


def test_dockerfile_runs_gunicorn_as_a_non_root_user_on_slim_python():
    instructions = dockerfile_instructions()
    values = dict(instructions)  # the last of each wins, as in Docker
    runs = " ".join(argument for keyword, argument in instructions if keyword == "RUN")

    assert instructions[0] == ("FROM", "python:3.12-slim-bookworm")
    user = values["USER"].split(":")[0]
    assert user not in {"root", "0", ""}
    assert f"--uid {user}" in runs  # the user exists, created by useradd
    user_index = max(i for i, (keyword, _) in enumerate(instructions) if keyword == "USER")
    assert all(keyword != "RUN" for keyword, _ in instructions[user_index + 1 :])
    assert json.loads(values["CMD"])[:2] == ["gunicorn", "yourlocalshop.wsgi:application"]
    assert "WEB_CONCURRENCY=" in values["ENV"]  # gunicorn reads it as its worker count


def test_gunicorn_reads_the_project_config_which_freezes_the_loaded_application():
    """Every server (image, compose, k8s, benchmarks) starts gunicorn in the project root, where
    gunicorn finds ./gunicorn.conf.py by itself."""
    gunicorn = Path(sys.executable).parent / "gunicorn"
    printed = subprocess.run(
        [gunicorn, "--print-config", "yourlocalshop.wsgi:application"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert re.search(r"^config\s+= \./gunicorn\.conf\.py$", printed, re.MULTILINE)

    namespace: dict = {}
    exec((ROOT / "gunicorn.conf.py").read_text(), namespace)
    try:
        namespace["post_worker_init"](worker=None)
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


def test_dockerfile_installs_pinned_requirements_and_collects_static_files():
    runs = " ".join(argument for keyword, argument in dockerfile_instructions() if keyword == "RUN")

    assert "pip install --no-cache-dir -r requirements.txt" in runs
    assert "manage.py collectstatic --noinput" in runs
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            assert "==" in line, f"unpinned requirement: {line}"


def test_dockerfile_health_check_probes_the_health_endpoint():
    instructions = dict(dockerfile_instructions())
    healthcheck = instructions["HEALTHCHECK"]
    script = ROOT / "docker" / "healthcheck.py"

    assert "/app/docker/healthcheck.py" in healthcheck
    assert f'/{READINESS_PATH.lstrip("/")}"' in script.read_text()
    assert "curl" not in healthcheck


def test_docker_build_context_leaves_out_secrets_and_local_state():
    ignored = set((ROOT / ".dockerignore").read_text().split())

    assert {".env", "var", ".venv", ".git", "db.sqlite3", "staticfiles"} <= ignored


def test_entrypoint_prepares_the_database_then_runs_the_command():
    entrypoint = ROOT / "docker" / "entrypoint.sh"
    text = entrypoint.read_text()

    assert os.access(entrypoint, os.X_OK)
    assert json.loads(dict(dockerfile_instructions())["ENTRYPOINT"]) == [
        "/app/docker/entrypoint.sh"
    ]
    assert "python manage.py prepare_database" in text
    assert text.rstrip().endswith('exec "$@"')
    subprocess.run(["sh", "-n", str(entrypoint)], check=True)


@pytest.mark.django_db(transaction=True)
def test_health_check_script_passes_against_a_healthy_server(live_server):
    port = live_server.url.rsplit(":", 1)[1]

    result = subprocess.run(
        [sys.executable, str(ROOT / "docker" / "healthcheck.py")],
        env={**os.environ, "PORT": port, "ALLOWED_HOSTS": "localhost,shop.example.com"},
        capture_output=True,
        text=True,
        timeout=30,
    )

    assert result.returncode == 0, result.stderr


def test_health_check_script_fails_when_nothing_answers():
    result = subprocess.run(
        [sys.executable, str(ROOT / "docker" / "healthcheck.py")],
        env={**os.environ, "PORT": "9"},  # discard port: nothing listens there
        capture_output=True,
        text=True,
        timeout=30,
    )

    assert result.returncode == 1
    assert "health check failed" in result.stderr


# --- Kubernetes manifests -----------------------------------------------------------------------


def workload(documents: list[dict], kind: str, component: str) -> dict:
    matches = [
        document
        for document in documents
        if document["kind"] == kind
        and document["metadata"]["labels"].get("app.kubernetes.io/component") == component
    ]
    assert len(matches) == 1, f"expected one {kind} for {component}, found {len(matches)}"
    return matches[0]


def containers(document: dict) -> list[dict]:
    return document["spec"]["template"]["spec"]["containers"]


def test_k8s_manifests_hold_app_service_worker_beat_and_migrations_job():
    documents = k8s_documents()

    app = workload(documents, "Deployment", "app")
    service = workload(documents, "Service", "app")
    worker = workload(documents, "Deployment", "worker")
    beat = workload(documents, "Deployment", "beat")
    job = workload(documents, "Job", "migrations")

    assert service["spec"]["selector"] == app["spec"]["selector"]["matchLabels"]
    assert (
        app["spec"]["template"]["metadata"]["labels"].items() >= service["spec"]["selector"].items()
    )
    assert command_text(containers(app)[0]["args"]).startswith("gunicorn yourlocalshop.wsgi")
    assert command_text(containers(worker)[0]["args"]).startswith(f"celery -A {CELERY_APP} worker")
    beat_args = command_text(containers(beat)[0]["args"])
    assert beat_args.startswith(f"celery -A {CELERY_APP} beat")
    assert f"--scheduler {settings.CELERY_BEAT_SCHEDULER}" in beat_args
    assert "migrate" in command_text(containers(job)[0]["command"])
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"


def test_k8s_runs_exactly_one_beat_replaced_not_rolled():
    beat = workload(k8s_documents(), "Deployment", "beat")

    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"]["type"] == "Recreate"


def test_k8s_app_probes_the_health_endpoint_with_an_allowed_host():
    documents = k8s_documents()
    app = containers(workload(documents, "Deployment", "app"))[0]
    config = next(document for document in documents if document["kind"] == "ConfigMap")
    allowed_hosts = config["data"]["ALLOWED_HOSTS"].split(",")

    for probe, path in (("readinessProbe", READINESS_PATH), ("livenessProbe", LIVENESS_PATH)):
        http_get = app[probe]["httpGet"]
        assert http_get["path"] == path
        host = {header["name"]: header["value"] for header in http_get["httpHeaders"]}["Host"]
        assert host in allowed_hosts


def test_k8s_pods_share_one_image_run_as_non_root_and_read_known_keys():
    documents = k8s_documents()
    pods = [document for document in documents if document["kind"] in {"Deployment", "Job"}]
    known = settings_env_keys() | PROCESS_KEYS
    config_keys = {
        key
        for document in documents
        if document["kind"] in {"ConfigMap", "Secret"}
        for key in {**document.get("data", {}), **document.get("stringData", {})}
    }

    assert len(pods) == 4
    assert len({container["image"] for pod in pods for container in containers(pod)}) == 1
    for pod in pods:
        assert pod["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True
    assert config_keys <= known, f"unknown keys: {config_keys - known}"
    assert {"SECRET_KEY", "DATABASE_URL", "REDIS_URL", "ALLOWED_HOSTS"} <= config_keys


def test_k8s_production_config_passes_the_deploy_checks():
    """The ConfigMap's security keys are the ones `check --deploy` needs (see test_operations)."""
    config = next(document for document in k8s_documents() if document["kind"] == "ConfigMap")

    assert config["data"]["DEBUG"] == "0"
    assert int(config["data"]["SECURE_HSTS_SECONDS"]) >= 31536000
    assert config["data"]["SECURE_SSL_REDIRECT"] == "1"
    assert config["data"]["LOG_FORMAT"] == "json"
    assert config["data"]["RUN_MIGRATIONS"] == "0"


# --- demo.sh --------------------------------------------------------------------------------------


def test_demo_script_is_executable_valid_bash():
    demo = ROOT / "demo.sh"

    assert os.access(demo, os.X_OK)
    subprocess.run(["bash", "-n", str(demo)], check=True)


@pytest.mark.django_db(transaction=True)
def test_demo_script_passes_against_a_running_shop(live_server):
    from catalogue.tests.factories import ProductFactory

    ProductFactory(sku="DEMO-TEA-1", name="Breakfast tea")

    result = subprocess.run(
        ["bash", str(ROOT / "demo.sh")],
        env={**os.environ, "BASE_URL": live_server.url},
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "GET /api/products/DEMO-TEA-1" in result.stdout
    assert "FAIL" not in result.stdout
    assert "all checks passed" in result.stdout


def test_demo_script_fails_when_the_shop_does_not_answer():
    result = subprocess.run(
        ["bash", str(ROOT / "demo.sh")],
        env={**os.environ, "BASE_URL": "http://127.0.0.1:9"},  # discard port: nothing listens
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 1
    assert "FAIL  no answer from http://127.0.0.1:9" in result.stdout


def test_readme_states_the_demo_admin_defaults_the_settings_use():
    readme = (ROOT / "README.md").read_text()
    defaults = env_example_entries()

    assert f"`{defaults['DEMO_ADMIN_EMAIL']}`" in readme
    assert f"`{defaults['DEMO_ADMIN_PASSWORD']}`" in readme
    for target in re.findall(r"^\| `make ([a-z0-9-]+)", readme, flags=re.MULTILINE):
        assert re.search(rf"^{target}:", (ROOT / "Makefile").read_text(), flags=re.MULTILINE)
