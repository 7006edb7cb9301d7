"""Starting the browser app: check the address, print the URL with its token, open it, serve until Ctrl-C."""

from __future__ import annotations

import ipaddress
import socket
import sys
import webbrowser
from dataclasses import replace

from romcam.errors import RomcamError
from romcam.web.server import ServeSettings, create_app, new_token

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")


def is_loopback(host: str) -> bool:
    """Whether ``host`` is only reachable from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def allowed_hosts(host: str) -> tuple[str, ...]:
    """The Host headers the server answers: loopback names, plus the given address when it is another one
    (any name when it listens on every interface)."""
    if is_loopback(host):
        return LOOPBACK_NAMES
    return ("*",) if host in ("0.0.0.0", "::") else (*LOOPBACK_NAMES, host)


def check_port_free(host: str, port: int) -> None:
    """``RomcamError`` in one line when ``host:port`` cannot be listened on (in use, or not an address here)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise RomcamError(f"cannot listen on {host}:{port}: {exc.strerror or exc} (try another --port)") from None


def serve(settings: ServeSettings, host: str, port: int, open_browser: bool) -> None:
    """Serve ``settings`` on ``host:port`` until Ctrl-C; prints the URL (with a fresh token) first."""
    import uvicorn

    check_port_free(host, port)
    settings = replace(settings, token=settings.token or new_token(), hosts=allowed_hosts(host))
    app = create_app(settings)
    shown_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    url = f"http://{shown_host if ':' not in shown_host else f'[{shown_host}]'}:{port}/?token={settings.token}"
    if not is_loopback(host):
        print(
            f"romcam: warning: serving on {host}: other machines on the network can reach this server; "
            "anyone with the URL below can see patient data",
            file=sys.stderr,
        )
    print(f"romcam serve: open {url}", flush=True)
    print(f"history: {settings.db or 'default'}; results in {settings.data_dir / 'results'}; Ctrl-C stops", flush=True)
    if open_browser:
        webbrowser.open(url)
    uvicorn.run(app, host=host, port=port, log_level="warning", ws_max_size=4 * 1024 * 1024)
