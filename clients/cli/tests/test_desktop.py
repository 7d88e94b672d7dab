"""The desktop recorder under Xvfb, with a real X window whose title the test sets."""

import os
import subprocess
import time

import pytest
from conftest import has_program, wait_for

pytestmark = pytest.mark.skipif(
    not has_program("Xvfb"), reason="Xvfb is not installed (make cli-system-deps)"
)


@pytest.fixture(scope="module")
def display(tmp_path_factory):
    from Xlib import display as xdisplay

    log = (tmp_path_factory.mktemp("xvfb") / "xvfb.log").open("wb")
    for number in range(170 + os.getpid() % 50, 400):
        if os.path.exists(f"/tmp/.X{number}-lock"):  # noqa: S108 - where X servers keep locks
            continue
        # -noreset: by default the server resets when its last client leaves, and a test
        # connecting during that reset has its connection refused (seen as a flaky setup error).
        xvfb = subprocess.Popen(
            ["Xvfb", f":{number}", "-screen", "0", "640x480x24", "-nolisten", "tcp", "-noreset"],
            stdout=log,
            stderr=log,
        )
        for _ in range(100):
            if xvfb.poll() is not None:
                break
            try:
                xdisplay.Display(f":{number}").close()
            except Exception:
                time.sleep(0.1)
            else:
                yield f":{number}"
                xvfb.terminate()
                xvfb.wait(timeout=10)
                log.close()
                return
        xvfb.kill()
    pytest.fail("Xvfb did not start")


@pytest.fixture
def window(display):
    """A mapped, focused window; call it with (app, title) to (re)name it."""
    from Xlib import X, Xatom
    from Xlib import display as xdisplay

    d = xdisplay.Display(display)
    root = d.screen().root
    win = root.create_window(10, 10, 200, 100, 0, d.screen().root_depth, X.InputOutput)
    win.map()
    d.sync()

    def name(app: str, title: str) -> None:
        win.set_wm_class(app.lower(), app)
        win.set_wm_name(title.encode("latin-1", "replace").decode("latin-1"))
        win.change_property(
            d.intern_atom("_NET_WM_NAME"), d.intern_atom("UTF8_STRING"), 8, title.encode()
        )
        win.change_property(d.intern_atom("_NET_WM_PID"), Xatom.CARDINAL, 32, [os.getpid()])
        win.set_input_focus(X.RevertToParent, X.CurrentTime)
        d.sync()
        time.sleep(0.1)

    yield name
    win.destroy()
    d.close()


def _frames(server, key):
    with server.api(key) as api:
        out = []
        for s in api.get("/api/recording/sessions/", params={"page_size": 500}).json()["results"]:
            if s["id"].startswith("desktop-"):
                out += api.get(f"/api/recording/sessions/{s['id']}/events/").json()["results"]
        return out


def _xdotool_has_classname() -> bool:
    return (
        "getwindowclassname"
        in subprocess.run(["xdotool", "help"], capture_output=True, text=True).stdout
    )


def _own_comm() -> str:
    return open(f"/proc/{os.getpid()}/comm").read().strip()


@pytest.mark.parametrize("backend", ["xlib", "xdotool"])
def test_the_active_window_is_recorded_once_with_its_app_and_title(
    backend, cli, display, window, server, alice_key
):
    if backend == "xdotool" and not has_program("xdotool"):
        pytest.skip("xdotool is not installed")
    title = f"shop — models.py ({backend}) é"
    window("Code", title)
    result = cli("record", "desktop", "--once", DISPLAY=display, CLONE_DESKTOP_BACKEND=backend)
    assert result.returncode == 0, result.stderr
    frames = wait_for(
        lambda: [f for f in _frames(server, alice_key) if f["payload"].get("window_title") == title]
    )
    assert len(frames) == 1
    # Old xdotool (no getwindowclassname) names the app by the window's process.
    expected = "Code" if backend == "xlib" or _xdotool_has_classname() else _own_comm()
    assert frames[0]["payload"]["app"] == expected and frames[0]["kind"] == "desktop_frame"
    assert "text" not in frames[0]["payload"]


def test_excluded_apps_are_not_recorded(cli, display, window, server, alice_key):
    window("KeePassXC", "Passwords.kdbx - KeePassXC")
    result = cli("record", "desktop", "--once", DISPLAY=display)
    assert result.returncode == 0 and "excluded" in result.stdout
    assert not [f for f in _frames(server, alice_key) if f["payload"]["app"] == "KeePassXC"]


def test_repeats_are_skipped_while_watching(cli, display, window, server, alice_key):
    window("Firefox", "Docs — watching")
    proc = cli.popen("record", "desktop", "--interval", "0.3", DISPLAY=display)
    time.sleep(2.5)
    window("Firefox", "Docs — watching 2")
    time.sleep(1.5)
    proc.terminate()
    proc.communicate(timeout=10)
    titles = [
        f["payload"]["window_title"]
        for f in _frames(server, alice_key)
        if f["payload"]["app"] == "Firefox"
    ]
    assert sorted(titles) == ["Docs — watching", "Docs — watching 2"]


def test_no_display_is_a_clear_error(cli):
    result = cli("record", "desktop", "--once", DISPLAY=":987")
    assert result.returncode == 2 and "no_display" in result.stderr
