"""HTTP plumbing shared by the health probe and the chat client (stdlib urllib, no new deps)."""

from __future__ import annotations

import http.client
import ipaddress
import urllib.error
import urllib.parse
import urllib.request

# A proxy from http_proxy must never see requests to the local server: build a proxy-less opener.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))
_WILDCARD_HOSTS = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}


def base_url(host: str, port: int) -> str:
    """``http://host:port`` of a server bound to ``host`` (wildcard binds via loopback)."""
    host = _WILDCARD_HOSTS.get(host, host)
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def is_loopback_host(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _is_local(url: str) -> bool:
    return is_loopback_host(urllib.parse.urlsplit(url).hostname or "")


def urlopen(request: urllib.request.Request | str, timeout: float) -> http.client.HTTPResponse:
    """``urllib.request.urlopen`` that bypasses proxies for loopback addresses."""
    url = request if isinstance(request, str) else request.full_url
    opener = _DIRECT if _is_local(url) else urllib.request.build_opener()
    return opener.open(request, timeout=timeout)


def probe_health(url: str, timeout: float = 1.0) -> bool:
    """True when ``<url>/health`` answers 200 (llama-server answers 503 while loading the model)."""
    try:
        with urlopen(f"{url}/health", timeout=timeout) as response:
            return response.status == 200
    except (urllib.error.URLError, http.client.HTTPException, OSError):
        return False
