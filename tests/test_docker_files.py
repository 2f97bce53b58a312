"""Docker cannot run here, so the image and the compose file are checked by
reading them: what they run is tested outside containers (test_serve*.py,
test_proxy_headers.py); these tests hold the files to the same rules."""

from __future__ import annotations

import re

import yaml
from django.conf import settings

from tests import support

DOCKER = support.ROOT / "docker"


def dockerfile() -> str:
    return (DOCKER / "Dockerfile").read_text()


def compose() -> dict:
    return yaml.safe_load((DOCKER / "compose.yaml").read_text())


def test_the_image_holds_every_app_of_the_site():
    copied = set(re.findall(r"^COPY (\w+) \./\1$", dockerfile(), re.MULTILINE))
    local_apps = {app.split(".")[0] for app in settings.INSTALLED_APPS if (support.ROOT / app.split(".")[0]).is_dir()}
    assert local_apps - copied == set()
    assert "frontend" in copied


def test_static_files_are_collected_into_the_image_with_production_storage():
    text = dockerfile()
    collect = text[text.index("RUN DEBUG=false") : text.index("collectstatic --noinput")]
    assert "DEBUG=false" in collect and "DATABASE_URL=" in collect  # production's (manifest) storage
    assert "STATIC_ROOT" not in collect  # the default: /app/staticfiles, beside the code, not on /data
    assert "VOLUME /data" in text


def test_daphne_never_believes_proxy_headers_on_its_own():
    command = next(line for line in dockerfile().splitlines() if line.startswith("CMD"))
    assert "daphne" in command and "--proxy-headers" not in command
    for service in compose()["services"].values():
        assert "--proxy-headers" not in str(service.get("command", ""))


def test_only_the_proxy_is_published_and_the_app_trusts_only_it():
    services = compose()["services"]
    published = {name for name, service in services.items() if service.get("ports")}
    assert published == {"caddy"}
    caddy_address = services["caddy"]["networks"]["verbatim"]["ipv4_address"]
    for name in ("web", "worker-local", "worker-scribe", "beat", "migrate"):
        assert services[name]["environment"]["TRUSTED_PROXIES"] == caddy_address, name


def test_the_proxy_passes_websockets_and_large_uploads_and_sets_forwarded_headers_itself():
    caddyfile = "\n".join(
        line for line in (DOCKER / "Caddyfile").read_text().splitlines() if not line.strip().startswith("#")
    )
    assert "reverse_proxy web:8000" in caddyfile  # Caddy upgrades WebSockets by itself
    assert "trusted_proxies" not in caddyfile  # so X-Forwarded-* from clients are replaced, never passed on
    limit = re.search(r"max_size \{\$PROXY_BODY_LIMIT:(\d+)MB\}", caddyfile)
    assert limit
    default_upload_limit = 3 * 1000**3  # MAX_UPLOAD_SIZE's default
    assert int(limit.group(1)) * 1000**2 >= default_upload_limit + 1024 * 1024  # the app's own 413 comes first
    assert compose()["services"]["caddy"]["environment"]["PROXY_BODY_LIMIT"].endswith(f"{limit.group(1)}MB}}")


def test_exactly_one_beat_and_it_runs_under_the_lock():
    services = compose()["services"]
    beats = [name for name, service in services.items() if "beat" in str(service.get("command", ""))]
    assert beats == ["beat"]
    assert services["beat"]["command"] == ["python", "manage.py", "serve", "--only", "beat"]
