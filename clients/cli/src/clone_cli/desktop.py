"""`clone record desktop`: the active window's app and title on X11, as desktop_frame events.

No screenshots and no keystrokes: only the application (WM_CLASS) and the window title. The
active window comes from the window manager (_NET_ACTIVE_WINDOW) or, without one, the input
focus. python-xlib is used when installed (extra ``[desktop]``), else ``xdotool``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from clone_cli import config, events
from clone_cli.api import EXIT_USAGE, CloneError
from clone_cli.output import say


class NoDisplay(CloneError):
    def __init__(self, reason: str) -> None:
        super().__init__(
            "no_display", f"Cannot read the active window: {reason}", exit_code=EXIT_USAGE
        )


def _xlib_active() -> tuple[str, str] | None:
    from Xlib import X, display

    try:
        d = display.Display()
    except Exception as exc:
        raise NoDisplay(str(exc) or type(exc).__name__) from None
    try:
        root = d.screen().root
        window = None
        active = root.get_full_property(d.intern_atom("_NET_ACTIVE_WINDOW"), X.AnyPropertyType)
        if active and active.value and active.value[0]:
            window = d.create_resource_object("window", active.value[0])
        if window is None:
            window = d.get_input_focus().focus
        if not hasattr(window, "get_wm_class"):
            return None
        utf8 = d.intern_atom("UTF8_STRING")
        net_name = d.intern_atom("_NET_WM_NAME")
        # The focus may be a child window: climb to the one that carries WM_CLASS.
        while window is not None and window != root:
            wm_class = window.get_wm_class()
            if wm_class:
                prop = window.get_full_property(net_name, utf8)
                title = prop.value.decode("utf-8", "replace") if prop and prop.value else None
                if title is None:
                    title = window.get_wm_name() or ""
                    if isinstance(title, bytes):
                        title = title.decode("latin-1")
                return wm_class[1] or wm_class[0], str(title)
            window = window.query_tree().parent
        return None
    finally:
        d.close()


def _xdotool_active() -> tuple[str, str] | None:
    exe = shutil.which("xdotool")
    if not exe:
        raise NoDisplay("neither python-xlib nor xdotool is installed")
    if not os.environ.get("DISPLAY"):
        raise NoDisplay("DISPLAY is not set")

    def run(*args: str) -> str:
        done = subprocess.run([exe, *args], capture_output=True, text=True, timeout=5)
        return done.stdout.strip() if done.returncode == 0 else ""

    window = run("getactivewindow") or run("getwindowfocus", "-f")
    if not window:
        return None
    title = run("getwindowname", window)
    # getwindowclassname is in xdotool 3.2021+; older ones name the app by the window's process.
    app = run("getwindowclassname", window)
    if not app and (pid := run("getwindowpid", window)).isdigit():
        try:
            app = Path(f"/proc/{pid}/comm").read_text().strip()
        except OSError:
            app = ""
    return (app or "unknown"), title


def active_window(backend: str | None = None) -> tuple[str, str] | None:
    backend = backend or os.environ.get("CLONE_DESKTOP_BACKEND")
    if backend != "xdotool":
        try:
            import Xlib  # noqa: F401
        except ImportError:
            if backend == "xlib":
                raise NoDisplay("python-xlib is not installed") from None
        else:
            return _xlib_active()
    return _xdotool_active()


def excluded(app: str, title: str, patterns: list[str]) -> bool:
    haystack = f"{app}\n{title}".lower()
    return any(p.lower() in haystack for p in patterns if p)


def frame_event(app: str, title: str, session: str) -> dict:
    return {
        "id": events.new_id("frame"),
        "session_id": session,
        "kind": "desktop_frame",
        "occurred_at": events.now_rfc3339(),
        "source": "desktop",
        "payload": {"app": app[:200] or "unknown", "window_title": title[:1000]},
    }


def record(*, interval: float, once: bool, send: Callable[[list[dict]], Any]) -> None:
    cfg = config.load()
    session = f"desktop-{events.hostname()}-{time.strftime('%Y%m%d')}"
    last: tuple[str, str] | None = None
    while True:
        current = active_window()
        if current and current != last:
            last = current
            app, title = current
            if excluded(app, title, cfg.desktop_exclude):
                say(f"skipped (excluded): {app}")
            else:
                result = send([frame_event(app, title, session)])
                say(f"{app}: {title}" + (" (spooled)" if result.spooled else ""))
        if once:
            return
        time.sleep(interval)
