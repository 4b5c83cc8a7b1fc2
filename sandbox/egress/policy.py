"""The egress proxy's decisions, in the standard library only (the proxy imports it in its
container; paperbench's tests import it on the host and check it against the monitor's URL
rules in paperbench/agents/urls.py, which it mirrors).

Two questions, asked of every request the agent sends through the proxy:

- is the URL blacklisted? The blacklist arrives already parsed by the host into
  {"entry", "host", "path"} targets; a URL is normalised here as the monitor normalises one
  (lower-case host without "www.", percent-decoded lower-case path without trailing slashes,
  with ".git" dropped from the end of any segment, as git's requests add it, GitHub's raw/codeload/api hosts mapped to the repository on github.com) and is covered
  when its host is the target's host or a subdomain of it and its path is the target's path or
  under it;
- may the proxy connect to this address? Only globally routable addresses, unless an address
  falls in a range the run allows explicitly: never loopback, private ranges, link-local (the
  cloud metadata address 169.254.169.254 among them), shared, multicast or reserved space.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import unquote, urlsplit


def _clean_path(path: str) -> str:
    path = re.sub(r"/{2,}", "/", unquote(path).lower())
    path = re.sub(r"\.git(?=/)", "", path)  # git's own requests: owner/repo.git/info/refs
    if path and not path.startswith("/"):
        path = "/" + path
    while True:
        trimmed = path.rstrip("/").removesuffix(".git")
        if trimmed == path:
            return path
        path = trimmed


def _github(host: str, path: str) -> tuple[str, str]:
    parts = [p for p in path.split("/") if p]
    if host in ("raw.githubusercontent.com", "codeload.github.com") and len(parts) >= 2:
        return "github.com", "/" + "/".join(parts[:2])
    if host == "api.github.com" and len(parts) >= 3 and parts[0] == "repos":
        return "github.com", "/" + "/".join(parts[1:3])
    return host, path


def normalise(url: str) -> tuple[str, str] | None:
    """(host, path) of an absolute URL as the monitor compares it; None without a host."""
    try:
        parts = urlsplit(url if "://" in url else "//" + url)
        host = parts.hostname or ""
    except ValueError:
        return None
    host = host.lower().rstrip(".").removeprefix("www.")
    if not host:
        return None
    return _github(host, _clean_path(parts.path))


def blacklisted(url: str, targets: list[dict[str, str]]) -> str | None:
    """The blacklist entry covering ``url``, or None."""
    found = normalise(url)
    if found is None:
        return None
    host, path = found
    for target in targets:
        t_host, t_path = target["host"], target["path"]
        if host != t_host and not host.endswith("." + t_host):
            continue
        if not t_path or path == t_path or path.startswith(t_path + "/"):
            return target["entry"]
    return None


def address_allowed(address: str, allowed: list[str]) -> bool:
    """Whether the proxy may connect to ``address`` (an IP literal)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    if mapped is not None:
        ip = mapped
    for network in allowed:
        try:
            if ip in ipaddress.ip_network(network, strict=False):
                return True
        except ValueError:
            continue
    return ip.is_global and not ip.is_multicast
