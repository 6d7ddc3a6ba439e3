"""Bad server options of ``radlab serve`` / ``radlab demo`` and :func:`radlab.ui.serve`: each is refused before
the server starts, with one line on stderr naming the option (exit 2), and nothing is left listening.

The command line runs in-process (``radlab.cli.main``) with Panel's server replaced by a function that fails the
test, so an option that slips through cannot start (or hang) a server; one kind runs the real ``radlab serve``.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from radlab.cli import main
from radlab.errors import EXIT_BAD_INPUT, InputError

USERS_SHAPE = 'a JSON object of user names to passwords, {"user": "password", ...}'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def no_server(monkeypatch):
    import panel as pn

    def started(*args, **kwargs):
        raise AssertionError("the server was started although its options are bad")
    monkeypatch.setattr(pn, "serve", started)


@pytest.fixture
def busy_port():
    """A port something else listens on (127.0.0.1)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield s.getsockname()[1]


def _files(tmp: Path) -> dict[str, Path]:
    files = {"malformed.json": '{"alice": "s3cret-pass",', "list.json": '["alice", "s3cret-pass"]', "empty.json": "{}",
             "number.json": '{"alice": "s3cret-pass", "bob": 42}', "no-columns.csv": "case,score\na,0.3\n",
             "damaged.parquet": "PAR1 not really parquet"}
    for name, text in files.items():
        (tmp / name).write_text(text)
    return {name: tmp / name for name in files}


# kind: (options after `serve --port PORT`, words of the line; {tmp} is the test's folder)
KINDS = {
    "users-json-path-missing": (["--basic-auth", "{tmp}/users.json"],
                                ["basic_auth '{tmp}/users.json' looks like a users file, but no such file exists",
                                 USERS_SHAPE, "or a password"]),
    "users-path-with-separator-missing": (["--basic-auth", "{tmp}/secrets/users"],
                                          ["'{tmp}/secrets/users' looks like a users file"]),
    "users-file-malformed-json": (["--basic-auth", "{tmp}/malformed.json"],
                                  ["users file {tmp}/malformed.json cannot be read as JSON", USERS_SHAPE]),
    "users-file-a-list": (["--basic-auth", "{tmp}/list.json"],
                          ["users file {tmp}/list.json must hold " + USERS_SHAPE, "got a JSON list"]),
    "users-file-empty-object": (["--basic-auth", "{tmp}/empty.json"], ["{tmp}/empty.json", "got an empty object"]),
    "users-file-password-not-a-string": (["--basic-auth", "{tmp}/number.json"],
                                         ["{tmp}/number.json: the password of ['bob'] is not a non-empty string"]),
    "basic-auth-empty": (["--basic-auth", ""], ["basic_auth is empty", "give a password or a users JSON file"]),
    "port-out-of-range": (["--port", "70000"], ["argument --port", "from 1 to 65535", "'70000'"]),
    "port-zero": (["--port", "0"], ["argument --port", "'0'"]),
    "port-not-a-number": (["--port", "http"], ["argument --port", "'http'"]),
    "num-procs-zero": (["--num-procs", "0"], ["argument --num-procs", "integer >= 1", "'0'"]),
    "address-unresolvable": (["--address", "no-such-host.invalid", "--basic-auth", "pw"],
                             ["address 'no-such-host.invalid' cannot be resolved"]),
    "address-not-this-machine": (["--address", "192.0.2.1", "--basic-auth", "pw"],
                                 ["address '192.0.2.1' is not an address of this machine", "localhost, 0.0.0.0"]),
    "beyond-localhost-without-auth": (["--address", "0.0.0.0"],
                                      ["refusing to serve on '0.0.0.0' without authentication", "--basic-auth"]),
    "basic-auth-and-oauth": (["--basic-auth", "pw", "--oauth-provider", "github"],
                             ["either basic_auth or oauth settings, not both"]),
    "predictions-file-missing": (["--predictions", "{tmp}/mine.csv"],
                                 ["predictions file {tmp}/mine.csv does not exist"]),
    "predictions-file-damaged": (["--predictions", "{tmp}/damaged.parquet"],
                                 ["predictions file {tmp}/damaged.parquet cannot be read as parquet"]),
    "predictions-file-missing-columns": (["--predictions", "{tmp}/no-columns.csv"],
                                         ["predictions file {tmp}/no-columns.csv lacks the columns", "'label'"]),
}


@pytest.mark.parametrize("kind", KINDS)
def test_bad_server_option_is_refused_before_the_server_starts(kind, catalog, tmp_path, capsys, no_server):
    options, words = KINDS[kind]
    _files(tmp_path)
    port = free_port()
    argv = ["--catalog", str(catalog.path), "serve", "--port", str(port),
            *(o.replace("{tmp}", str(tmp_path)) for o in options)]
    assert main(argv) == EXIT_BAD_INPUT
    out = capsys.readouterr()
    assert out.out == ""  # no "radlab dashboards: http://..." for a server that does not run
    assert len(out.err.splitlines()) == 1 and out.err.startswith("radlab serve: ")
    for word in words:
        assert word.replace("{tmp}", str(tmp_path)) in out.err
    assert "s3cret-pass" not in out.err  # a users file's passwords are never shown
    assert not listening(port)


def test_busy_port_is_refused_by_the_real_command(busy_port, catalog):
    """Kind port-in-use: `radlab serve` on a port another program listens on."""
    out = subprocess.run([sys.executable, "-m", "radlab.cli", "--catalog", str(catalog.path), "serve", "--address",
                          "127.0.0.1", "--port", str(busy_port)], capture_output=True, text=True, timeout=300)
    assert out.returncode == EXIT_BAD_INPUT and out.stdout == ""
    assert out.stderr == (f"radlab serve: port {busy_port} on '127.0.0.1' is already in use (another server?): stop "
                          "that program or choose another port (--port)\n")


def test_demo_refuses_a_busy_port_before_building_anything(busy_port, catalog, tmp_path, capsys, no_server):
    """Kind demo-port-in-use: the check comes before the demo data and models are built (minutes)."""
    argv = ["--catalog", str(catalog.path), "demo", "--data", str(tmp_path / "data"), "--port", str(busy_port)]
    assert main(argv) == EXIT_BAD_INPUT
    assert capsys.readouterr().err.startswith(f"radlab demo: port {busy_port} on 'localhost' is already in use")
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize("options, words", [
    ({"num_procs": 2, "threaded": True}, "must be 1 for a threaded server. Got 2"),
    ({"num_procs": 0}, "must be an integer >= 1. Got 0"),
    ({"port": 0}, "'port' parameter of serve must be an integer from 1 to 65535. Got 0"),
    ({"port": "5006"}, "Got '5006'"),
], ids=["api-num-procs-threaded", "api-num-procs-zero", "api-port-zero", "api-port-a-string"])
def test_serve_refuses_bad_options(options, words, no_server):
    from radlab.ui import serve

    with pytest.raises(InputError, match=re.escape(words)):
        serve(**{"address": "127.0.0.1", "port": free_port(), "threaded": True, **options})


def test_good_options_pass_the_check(tmp_path):
    from radlab.ui._serve import check_options

    users = tmp_path / "users.json"
    users.write_text(json.dumps({"clinician": "s3cret-pass"}))
    for auth in (str(users), "a-password"):
        assert check_options(address="127.0.0.1", port=free_port(), basic_auth=auth) is None
