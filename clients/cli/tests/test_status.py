"""`clone status`: the server's own account of who you are and what it holds."""

from conftest import Cli


def test_status_json_is_the_servers_account_with_health_and_spool(cli, server, alice_key):
    with server.api(alice_key) as api:
        account = api.get("/api/account/").json()
    done = cli("--json", "status")
    assert done.returncode == 0, done.stderr
    body = done.json
    assert body["health"]["status"] == "ok"
    assert body["url"] == server.url and body["spooled"] == 0
    assert body["user"] == {
        "username": "alice",
        "key": account["api_key"],
        "key_from": "env",
    }
    assert body["user"]["key"]["name"] == "cli tests"
    assert body["counts"] == account["counts"]
    assert body["calibration"] == account["calibration"]


def test_status_counts_what_was_just_recorded(cli):
    before = cli("--json", "status").json["counts"]
    assert cli("record", "note", "status counts this note").returncode == 0
    after = cli("--json", "status").json["counts"]
    assert after["events"] == before["events"] + 1
    # The server promotes memory after the ingest (in-process here): the note may become a fact,
    # nothing is ever lost.
    assert after["facts"] >= before["facts"]
    assert after["predictions"] == before["predictions"]


def test_status_for_a_person(cli, server, alice_key):
    with server.api(alice_key) as api:
        account = api.get("/api/account/").json()
    counts, calibration = account["counts"], account["calibration"]
    done = cli("status")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith(f"Server   {server.url} (ok), clone-cli ")
    assert lines[1] == f"User     alice, key cli tests ({account['api_key']['prefix']}, from env)"
    assert f"{counts['events']} events in {counts['sessions']} sessions" in lines[2]
    assert f"{counts['awaiting_answer']} awaiting your answer" in lines[3]
    assert lines[4].startswith(f"Calib.   {calibration['method']} (n={calibration['n']}")
    assert lines[4].endswith(
        f"Clone answers alone from {calibration['min_labels_for_auto']} labelled answers"
    )


def test_status_not_logged_in_says_so_and_still_shows_the_server(anon_cli, server):
    done = anon_cli("status")
    assert done.returncode == 0, done.stderr
    assert "not logged in" in done.stdout
    assert anon_cli("--json", "status").json["user"] is None


def test_status_with_a_refused_key_is_exit_3_with_the_servers_code(tmp_path, server):
    done = Cli(tmp_path, server.url, "clone_deadbeef_nope")("--json", "status")
    assert done.returncode == 3
    assert done.json["error"]["code"] == "authentication_failed"
