"""Small typed readers for environment variables.

Each reader returns the default when the variable is unset or empty and
refuses a value it cannot parse, so a typo stops the process at start instead
of surfacing as odd behaviour later.
"""

from __future__ import annotations

import ipaddress
import os
import re

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
_SIZE_UNITS = {
    "": 1,
    "B": 1,
    "KB": 1000,
    "MB": 1000**2,
    "GB": 1000**3,
    "TB": 1000**4,
    "KIB": 1024,
    "MIB": 1024**2,
    "GIB": 1024**3,
    "TIB": 1024**4,
}


def _raw(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


def _refuse(name: str, value: str, expected: str) -> ImproperlyConfigured:
    return ImproperlyConfigured(f"{name}={value!r} is not valid: expected {expected}.")


def env_str(name: str, default: str = "") -> str:
    return _raw(name) or default


def env_bool(name: str, default: bool) -> bool:
    value = _raw(name)
    if value is None:
        return default
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise _refuse(name, value, "true or false")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    value = _raw(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise _refuse(name, value, "a whole number") from None
    if minimum is not None and number < minimum:
        raise _refuse(name, value, f"a whole number of at least {minimum}")
    return number


def env_float(name: str, default: float, *, minimum: float | None = None) -> float:
    value = _raw(name)
    if value is None:
        return default
    try:
        number = float(value)
    except ValueError:
        raise _refuse(name, value, "a number") from None
    if minimum is not None and number < minimum:
        raise _refuse(name, value, f"a number of at least {minimum}")
    return number


def env_bytes(name: str, default: int) -> int:
    """A size such as `3GB`, `500MiB` or a plain number of bytes."""
    value = _raw(name)
    if value is None:
        return default
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([A-Za-z]*)", value)
    unit = match.group(2).upper() if match else None
    if not match or unit not in _SIZE_UNITS:
        raise _refuse(name, value, "a size such as 3GB, 500MiB or a number of bytes")
    return int(float(match.group(1)) * _SIZE_UNITS[unit])


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    value = _raw(name)
    if value is None:
        return list(default or [])
    return [item.strip() for item in value.split(",") if item.strip()]


def env_url(name: str, default: str = "", *, schemes: tuple[str, ...]) -> str:
    value = _raw(name) or default
    if value and not any(value.startswith(f"{scheme}://") for scheme in schemes):
        raise _refuse(name, value, "a URL starting with " + " or ".join(f"{s}://" for s in schemes))
    return value


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = (_raw(name) or default).lower()
    if value not in choices:
        raise _refuse(name, value, "one of " + ", ".join(choice for choice in choices if choice))
    return value


def env_numbers(name: str) -> dict[str, float]:
    """`name=number` pairs, comma-separated (`scribe=600,local=3000`)."""
    value = _raw(name)
    numbers: dict[str, float] = {}
    for item in (value or "").split(","):
        key, _, number = item.partition("=")
        if not item.strip():
            continue
        try:
            numbers[key.strip()] = float(number)
        except ValueError:
            raise _refuse(name, value or "", "name=number pairs such as scribe=600,local=3000") from None
        if not key.strip() or numbers[key.strip()] < 0:
            raise _refuse(name, value or "", "name=number pairs such as scribe=600,local=3000")
    return numbers


def env_networks(name: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """Addresses and networks, comma-separated (`10.0.0.5,172.30.0.0/16,::1`)."""
    networks = []
    for item in env_list(name):
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise _refuse(name, item, "IP addresses or networks such as 10.0.0.5 or 172.30.0.0/16") from None
    return networks
