"""wrk, driven round-robin over a list of GET paths, reporting p50/p95/p99 and answers by status.

wrk (C, event loop) rather than a Python client for the read path: on a 2-core machine a Python
client would take the core the server needs, and measure itself.
"""

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

SAMPLE_PRODUCTS = Path(__file__).resolve().parent.parent / "sample_products.json"


def catalogue_paths() -> tuple[list[str], list[str]]:
    """The catalogue's list and detail paths every benchmark drives: 21 list pages (pages 1-3,
    every category, two orderings, a search) and the 200 most popular products."""
    document = json.loads(SAMPLE_PRODUCTS.read_text(encoding="utf-8"))
    active = [row for row in document["products"] if row.get("is_active", True)]
    active.sort(key=lambda row: -row.get("popularity", 0))
    detail = [f"/api/products/{row['sku']}" for row in active[:200]]
    list_paths = ["/api/products", "/api/products?page=2", "/api/products?page=3"]
    list_paths += [f"/api/products?category={row['slug']}" for row in document["categories"]]
    list_paths += ["/api/products?ordering=price", "/api/products?q=tea&ordering=-price"]
    return list_paths, detail


# wrk picks the next path round-robin and reports p50/p95/p99 itself (`--latency` has no p95).
# Each thread counts answers by status; `done` adds the threads' counts up.
WRK_SCRIPT = """
local paths = {%s}
local index = 0
local threads = {}
statuses = {}
setup = function(thread)
  table.insert(threads, thread)
end
request = function()
  index = index %% #paths + 1
  return wrk.format("GET", paths[index])
end
response = function(status, headers, body)
  local key = tostring(status)
  statuses[key] = (statuses[key] or 0) + 1
end
done = function(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      total[status] = (total[status] or 0) + count
    end
  end
  local parts = {}
  for status, count in pairs(total) do
    table.insert(parts, string.format('"%%s": %%d', status, count))
  end
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.timeout
  io.write(string.format(
    'RESULT {"requests": %%d, "seconds": %%f, "p50": %%f, "p95": %%f, "p99": %%f, '
    .. '"transportErrors": %%d, "statuses": {%%s}}\\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000,
    latency:percentile(95) / 1000, latency:percentile(99) / 1000, errors,
    table.concat(parts, ", ")))
end
"""


def wrk_missing() -> str | None:
    """A message when wrk is not installed, else None."""
    if shutil.which("wrk"):
        return None
    return "wrk is missing: apt-get update && apt-get install -y wrk"


def wrk_command(
    base_url: str, paths: list[str], *, duration: float, connections: int, threads: int
) -> tuple[list[str], str]:
    """The wrk command line and the Lua script file it reads (the caller deletes the file)."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT % ", ".join(json.dumps(path) for path in paths))
    command = [
        "wrk",
        f"-t{min(threads, connections)}",
        f"-c{connections}",
        f"-d{max(1, round(duration))}s",
        "--timeout",
        "30s",
        "-s",
        script.name,
        base_url,
    ]
    return command, script.name


def wrk_parse(output: str) -> dict:
    """Requests, seconds, requests/s, p50/p95/p99 in ms, transport errors and answers by status."""
    result = json.loads(output.split("RESULT ", 1)[1])
    result["rps"] = result["requests"] / result["seconds"]
    return result


def wrk_run(
    base_url: str,
    paths: list[str],
    *,
    duration: float,
    connections: int,
    threads: int = 2,
    warmup: float = 3,
) -> dict:
    """Run wrk for `warmup` seconds (discarded: fills caches, opens connections), then measure."""
    if warmup:
        command, script = wrk_command(
            base_url, paths, duration=warmup, connections=connections, threads=threads
        )
        subprocess.run(command, capture_output=True, check=True)
        os.unlink(script)
    command, script = wrk_command(
        base_url, paths, duration=duration, connections=connections, threads=threads
    )
    try:
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    finally:
        os.unlink(script)
    return wrk_parse(output)
