"""The files under deploy/ name only what the code has: every ``CUNBOT_*`` variable is a real
setting, every ``cunbot …`` command parses with the real CLI parser, the unit's stop timeout
covers the app's shutdown waits, and the two-host nginx, PgBouncer and env files agree with
each other and with the settings."""

from __future__ import annotations

import configparser
import re
import shlex
from pathlib import Path

import pytest
import yaml

from bot import app as bot_app
from bot.channels import base as channel_base
from bot.channels.registry import CHANNELS
from bot.cli import build_parser
from bot.commands import core as core_commands
from bot.config import CoreSettings, load_config

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
TWO_HOST = DEPLOY / "two-host"
UNIT = DEPLOY / "systemd" / "cunbot@.service"
# Read with os.environ directly rather than through a settings class.
READ_DIRECTLY = {"CUNBOT_DATA_DIR": ROOT / "core" / "paths.py"}

SETTING = re.compile(r"\bCUNBOT_[A-Z0-9_]*[A-Z0-9]")
BACKTICKS = re.compile(r"`([^`\n]+)`")
BIN_CUNBOT = re.compile(r"bin/cunbot((?: [^'\"`&;|\n]+)?)")


def deploy_files() -> list[Path]:
    files = [p for p in DEPLOY.rglob("*") if p.is_file()]
    assert len(files) >= 8, files
    return sorted(files)


def real_settings() -> set[str]:
    names = {"CUNBOT_" + name.upper() for name in CoreSettings.model_fields}
    for entry in CHANNELS:
        if entry.settings is not None:
            names |= {entry.env_prefix + n.upper() for n in entry.settings.model_fields}
    for name, source in READ_DIRECTLY.items():
        assert f'"{name}"' in source.read_text(), f"{name} is no longer read in {source}"
        names.add(name)
    return names


def test_every_cunbot_variable_in_deploy_is_a_real_setting() -> None:
    known = real_settings()
    seen: dict[str, set[str]] = {}
    for path in deploy_files():
        for name in SETTING.findall(path.read_text()):
            seen.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    unknown = {name: sorted(where) for name, where in seen.items() if name not in known}
    assert unknown == {}
    # The check saw the settings the layout depends on.
    assert {"CUNBOT_DB_POOL_SIZE", "CUNBOT_DB_POOLER", "CUNBOT_PORT", "CUNBOT_HOST"} <= set(seen)


def command_lines(path: Path) -> list[str]:
    """What follows ``cunbot`` in each command the file spells out."""
    text = path.read_text()
    found = [m.group(1).strip() for m in BIN_CUNBOT.finditer(text)]
    if path.suffix == ".md":
        found += [s[len("cunbot ") :] for s in BACKTICKS.findall(text) if s.startswith("cunbot ")]
    if path.name == "docker-compose.yml":
        services = yaml.safe_load(text)["services"].values()
        found += [
            shlex.join(s["command"][1:]) for s in services if s.get("command", [""])[0] == "cunbot"
        ]
    return found


def test_every_cunbot_command_in_deploy_parses() -> None:
    parser = build_parser()
    checked = []
    for path in deploy_files():
        for line in command_lines(path):
            argv = [a for a in shlex.split(line) if a not in ("-h", "--help")]
            if not argv:
                continue
            try:
                args = parser.parse_args(argv)
            except SystemExit:
                pytest.fail(f"{path.relative_to(ROOT)}: `cunbot {line}` is not a cunbot command")
            assert callable(args.func)
            checked.append(argv[0])
    assert {"run", "db", "invite", "households"} <= set(checked)


def test_help_list_in_the_layout_is_the_parser_s() -> None:
    text = (TWO_HOST / "README.md").read_text()
    listed = re.search(r"`cunbot --help`: ([a-z,\s-]+)\)", text)
    assert listed is not None
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    assert re.split(r",\s+", listed.group(1)) == list(sub.choices)  # type: ignore[union-attr]


def unit_values(key: str) -> list[str]:
    return [
        line.split("=", 1)[1]
        for line in UNIT.read_text().splitlines()
        if line.startswith(key + "=")
    ]


def test_unit_gives_each_instance_its_port_and_waits_out_the_shutdown() -> None:
    assert unit_values("Environment") == ["CUNBOT_PORT=%i"]
    assert unit_values("ExecStart") == ["/opt/cunbot/.venv/bin/cunbot run"]
    drained = sum(1 for entry in CHANNELS if entry.settings is not None)
    worst = (
        core_commands.SHUTDOWN_TIMEOUT
        + drained * channel_base.CHANNEL_DRAIN
        + bot_app.SHUTDOWN_WAIT
        + bot_app.FAQ_STOP_WAIT
    )
    (stop,) = unit_values("TimeoutStopSec")
    assert int(stop) >= worst


def nginx_upstream(path: Path) -> list[tuple[str, int]]:
    block = re.search(r"upstream cunbot \{(.*?)\}", path.read_text(), re.S)
    assert block is not None
    return [(h, int(p)) for h, p in re.findall(r"^\s*server ([\w.]+):(\d+)", block.group(1), re.M)]


def test_two_host_nginx_matches_the_units_and_the_routes(tmp_path: Path) -> None:
    servers = nginx_upstream(TWO_HOST / "nginx.conf")
    enable = re.search(r"enable --now ((?:cunbot@\d+\s*)+)", (TWO_HOST / "README.md").read_text())
    assert enable is not None
    ports = {int(p) for p in re.findall(r"cunbot@(\d+)", enable.group(1))}
    hosts = {h for h, _ in servers}
    assert len(hosts) == 2 and len(servers) == 2 * len(ports)
    assert {p for _, p in servers} == ports
    text = (TWO_HOST / "nginx.conf").read_text()
    ws = re.search(r"location = (/\S+) \{(.*?)\}", text, re.S)
    assert ws is not None and "proxy_set_header Upgrade $http_upgrade" in ws.group(2)
    config = load_config(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}", var_dir=tmp_path
    )
    app = bot_app.create_app(config, run_workers=False)
    routes = {r.canonical for r in app.router.resources()}
    assert ws.group(1) in routes
    body = re.search(r"client_max_body_size (\d+)m;", text)
    assert body is not None and int(body.group(1)) * 1024 * 1024 >= bot_app.MAX_BODY


def env_example() -> dict[str, str]:
    lines = (TWO_HOST / "env.example").read_text().splitlines()
    pairs = (line.split("=", 1) for line in lines if line and not line.startswith("#"))
    return {k: v for k, v in pairs}


def test_two_host_env_and_pgbouncer_agree() -> None:
    env = env_example()
    settings = CoreSettings(**{k.removeprefix("CUNBOT_").lower(): v for k, v in env.items()})
    assert settings.behind_pooler
    ini = configparser.ConfigParser(inline_comment_prefixes=(";",))
    ini.read(TWO_HOST / "pgbouncer.ini")
    bouncer = ini["pgbouncer"]
    assert bouncer["pool_mode"] == "transaction"
    address = f"@{bouncer['listen_addr']}:{bouncer['listen_port']}/"
    assert address in settings.database_url
    database = settings.database_url.rsplit("/", 1)[1]
    assert database in ini["databases"]
    processes = len(nginx_upstream(TWO_HOST / "nginx.conf"))
    assert int(bouncer["max_client_conn"]) >= processes * settings.db_pool_size
    server_side = int(bouncer["default_pool_size"]) + int(bouncer["reserve_pool_size"])
    assert server_side <= int(bouncer["max_db_connections"]) < 100  # PostgreSQL's default
