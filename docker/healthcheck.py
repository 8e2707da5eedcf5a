"""Docker HEALTHCHECK: healthy while GET /api/health/ready answers 200 (the database is reachable).

Standard library only, so the slim image needs no curl. The Host header is one of ALLOWED_HOSTS,
otherwise Django would refuse the probe with 400 in production.
"""

import os
import sys
import urllib.request


def probe_host() -> str:
    if os.environ.get("HEALTHCHECK_HOST"):
        return os.environ["HEALTHCHECK_HOST"]
    for host in os.environ.get("ALLOWED_HOSTS", "").split(","):
        host = host.strip().lstrip(".")
        if host and host != "*":
            return host
    return "127.0.0.1"


def main() -> int:
    port = os.environ.get("PORT", "8000")
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/health/ready", headers={"Host": probe_host()}
    )
    try:
        with urllib.request.urlopen(request, timeout=4) as response:
            return 0 if response.status == 200 else 1
    except OSError as error:  # URLError and HTTPError (503) are OSErrors
        sys.stderr.write(f"health check failed: {error}\n")
        return 1


if __name__ == "__main__":
    sys.exit(main())
