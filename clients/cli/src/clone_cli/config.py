"""Where the CLI keeps its configuration and spool, and how it reads them.

Standard library only (plus platformdirs, imported lazily): ``clone hook`` reads the
configuration on every agent hook call and must start fast.
"""

from __future__ import annotations

import json
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

APP = "clone"

DEFAULT_URL = "http://127.0.0.1:8000"

# Commands are not recorded when they match one of these (fnmatch, case-insensitive), in addition
# to any command that starts with a space. Extend them with `[shell] secret_patterns` in the config.
DEFAULT_SECRET_PATTERNS = (
    "*TOKEN*=*",
    "*PASSWORD*",
    "*PASSWD*",
    "*SECRET*=*",
    "*API_KEY*=*",
    "*APIKEY*=*",
    "export AWS_*",
    "*AWS_SECRET*",
    "*Authorization:*",
    # A Clone API key: clone_<8 hex>_<secret>.
    "*clone_[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]_*",
)

# Active windows of these apps (substring of the app or window title, case-insensitive) are not
# recorded by `clone record desktop`. Extend them with `[desktop] exclude` in the config.
DEFAULT_DESKTOP_EXCLUDE = (
    "keepassxc",
    "keepass",
    "1password",
    "bitwarden",
    "lastpass",
    "enpass",
    "gnome-keyring",
    "seahorse",
    "private browsing",
    "incognito",
    "inprivate",
)


def config_dir() -> Path:
    if override := os.environ.get("CLONE_CONFIG_DIR"):
        return Path(override)
    from platformdirs import user_config_dir

    return Path(user_config_dir(APP))


def data_dir() -> Path:
    if override := os.environ.get("CLONE_DATA_DIR"):
        return Path(override)
    from platformdirs import user_data_dir

    return Path(user_data_dir(APP))


def config_path() -> Path:
    return config_dir() / "config.toml"


@dataclass
class Config:
    url: str = DEFAULT_URL
    api_key: str = ""
    key_id: int | None = None
    username: str = ""
    secret_patterns: list[str] = field(default_factory=lambda: list(DEFAULT_SECRET_PATTERNS))
    desktop_exclude: list[str] = field(default_factory=lambda: list(DEFAULT_DESKTOP_EXCLUDE))
    # Where the values came from, for `clone status` ("env", "config" or "default").
    url_source: str = "default"
    key_source: str = "none"


def load() -> Config:
    """The saved configuration with CLONE_URL / CLONE_API_KEY taking precedence.

    A config file that cannot be parsed is treated as missing rather than crashing: the user is
    told to log in again.
    """
    cfg = Config()
    data: dict = {}
    try:
        with config_path().open("rb") as fh:
            data = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError):
        data = {}
    server = data.get("server", {}) if isinstance(data.get("server"), dict) else {}
    if isinstance(server.get("url"), str) and server["url"]:
        cfg.url, cfg.url_source = server["url"], "config"
    if isinstance(server.get("api_key"), str) and server["api_key"]:
        cfg.api_key, cfg.key_source = server["api_key"], "config"
    if isinstance(server.get("key_id"), int):
        cfg.key_id = server["key_id"]
    if isinstance(server.get("username"), str):
        cfg.username = server["username"]
    shell = data.get("shell", {})
    if isinstance(shell, dict) and isinstance(shell.get("secret_patterns"), list):
        cfg.secret_patterns += [p for p in shell["secret_patterns"] if isinstance(p, str)]
    desktop = data.get("desktop", {})
    if isinstance(desktop, dict) and isinstance(desktop.get("exclude"), list):
        cfg.desktop_exclude += [p for p in desktop["exclude"] if isinstance(p, str)]
    if url := os.environ.get("CLONE_URL"):
        cfg.url, cfg.url_source = url, "env"
    if key := os.environ.get("CLONE_API_KEY"):
        cfg.api_key, cfg.key_source = key, "env"
    cfg.url = cfg.url.rstrip("/")
    return cfg


def _toml_value(value: object) -> str:
    # JSON strings, integers and arrays of strings are valid TOML values.
    return json.dumps(value, ensure_ascii=False)


def save_server(*, url: str, api_key: str, key_id: int | None, username: str) -> Path:
    """Write the [server] table, keeping the other tables of an existing file.

    The file is created with mode 0600 (it holds an API key) and replaced atomically.
    """
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        with path.open("rb") as fh:
            existing = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError):
        existing = {}
    server: dict[str, object] = {"url": url, "api_key": api_key, "username": username}
    if key_id is not None:
        server["key_id"] = key_id
    existing["server"] = server
    _write(path, existing)
    return path


def forget_server() -> None:
    path = config_path()
    try:
        with path.open("rb") as fh:
            existing = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError):
        return
    existing.pop("server", None)
    _write(path, existing)


def _write(path: Path, data: dict) -> None:
    lines: list[str] = []
    for table, values in data.items():
        if not isinstance(values, dict):
            continue
        lines.append(f"[{table}]")
        for key, value in values.items():
            if isinstance(value, str | int | list) and not isinstance(value, bool):
                lines.append(f"{key} = {_toml_value(value)}")
        lines.append("")
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines))
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
