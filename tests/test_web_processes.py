"""``nbm web`` in several processes (``WEB_CONCURRENCY``): they serve one port, one that dies is
replaced, SIGTERM stops them all, letting the requests in progress finish; a port already taken, or an
app that cannot start, is said plainly; the banner and the app's links name the port it serves."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import time_machine
from sqlalchemy import create_engine, text

from bot.email.links import EmailLinks
from bot.web.server import listen, serve_app
from core.clock import local_today
from core.db import unit_of_work
from core.models import ActionState, ActionType, User
from core.planner.view import MAX_WAITING
from tests.factories import deleted_afterwards, machine_now, make_action, make_lead, make_user
from tests.servers import DEADLINE_SECONDS, free_port, wait_for, wait_until_listening

pytestmark = pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads processes from Linux's /proc")

NBM = str(Path(sys.executable).with_name("nbm"))


def _children(pid: int) -> set[int]:
    return set(map(int, Path(f"/proc/{pid}/task/{pid}/children").read_text().split()))


def _health(port: int) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=DEADLINE_SECONDS) as response:
        return int(response.status)


def test_two_processes_serve_one_port_one_killed_is_replaced_and_sigterm_stops_them_all(
        database_url: str, tmp_path: Path) -> None:
    port, log = free_port(), tmp_path / "web.log"
    env = {**os.environ, "DATABASE_URL": database_url, "NBM_DATA_DIR": str(tmp_path), "NBM_ENV": "test",
           "WEB_CONCURRENCY": "2", "WEB_THREADS": "2"}
    with log.open("wb") as output:
        web = subprocess.Popen([NBM, "web", "--port", str(port)], env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        wait_until_listening(web, port, log)
        wait_for("two processes serving", lambda: len(_children(web.pid)) == 2, web, log)
        first = _children(web.pid)
        assert [_health(port) for _ in range(4)] == [200] * 4

        killed = min(first)
        os.kill(killed, signal.SIGKILL)
        wait_for("the killed process replaced",
                  lambda: len(_children(web.pid)) == 2 and killed not in _children(web.pid), web, log)
        assert [_health(port) for _ in range(4)] == [200] * 4
        serving = _children(web.pid)

        web.send_signal(signal.SIGTERM)
        assert web.wait(timeout=DEADLINE_SECONDS) == 0
    finally:
        if web.poll() is None:
            web.kill()
            web.wait()
    assert not any(Path(f"/proc/{pid}").exists() for pid in serving)
    assert f"a web process (pid {killed}) was killed by SIGKILL; starting another" in log.read_text()


def _refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except ConnectionRefusedError:
        return True
    return False


def _health_answer(port: int) -> tuple[int, str]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=DEADLINE_SECONDS) as response:
        return int(response.status), response.read().decode()


@pytest.mark.parametrize("processes", [1, 2])
def test_sigterm_refuses_new_connections_answers_the_request_in_progress_and_exits_0(
        database_url: str, tmp_path: Path, processes: int) -> None:
    """Heroku's SIGTERM on a deploy: the health check in progress (held by a lock on the table it
    reads) still gets its answer, while new connections are refused."""
    port, log = free_port(), tmp_path / "web.log"
    env = {**os.environ, "DATABASE_URL": database_url, "NBM_DATA_DIR": str(tmp_path), "NBM_ENV": "test",
           "WEB_CONCURRENCY": str(processes), "WEB_THREADS": "2"}
    with log.open("wb") as output:
        web = subprocess.Popen([NBM, "web", "--port", str(port)], env=env, stdout=output, stderr=subprocess.STDOUT)
    database = create_engine(database_url)
    blocker, watcher = database.connect(), database.connect().execution_options(isolation_level="AUTOCOMMIT")
    try:
        wait_until_listening(web, port, log)
        blocker.execute(text("LOCK TABLE alembic_version IN ACCESS EXCLUSIVE MODE"))
        with ThreadPoolExecutor(1) as client:
            answer = client.submit(_health_answer, port)
            wait_for("the health check waiting on the lock", lambda: bool(watcher.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )).scalar()), web, log)
            web.send_signal(signal.SIGTERM)
            wait_for("new connections refused", lambda: _refused(port), web, log)
            blocker.rollback()  # the request in progress can go on
            assert answer.result(timeout=DEADLINE_SECONDS) == (200, '{"status":"ok"}\n')
        assert web.wait(timeout=DEADLINE_SECONDS) == 0, log.read_text()
    finally:
        blocker.close()
        watcher.close()
        database.dispose()
        if web.poll() is None:
            web.kill()
            web.wait()


def test_a_port_already_taken_is_said_plainly_and_nothing_is_served(database_url: str, tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        done = subprocess.run([NBM, "web", "--port", str(port)], capture_output=True, text=True,
                              timeout=DEADLINE_SECONDS,
                              env={**os.environ, "DATABASE_URL": database_url, "NBM_DATA_DIR": str(tmp_path),
                                   "NBM_ENV": "test", "WEB_CONCURRENCY": "2"})
    assert done.returncode == 1
    assert (f"cannot listen on 127.0.0.1:{port}: Address already in use (is another nbm web running there? "
            "--port, or PORT, chooses another)") in done.stderr
    assert "Traceback" not in done.stderr and "serving" not in done.stderr


def test_an_app_that_cannot_start_stops_nbm_web_with_exit_code_1_instead_of_forking_forever() -> None:
    def broken_app() -> None:
        raise RuntimeError("a setting the app cannot start with")

    handlers = {signum: signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGINT)}
    with listen("127.0.0.1", 0) as listener:
        assert serve_app(broken_app, listener, processes=2) == 1
    # The supervisor gave back the handlers it replaced: this process still stops as it did.
    assert {signum: signal.getsignal(signum) for signum in handlers} == handlers


def _waiting_for_more_than_a_page_lists() -> uuid.UUID:
    """A user, committed for real (the web process reads it), waiting for replies from more people than
    the "today" page lists: the page links to the page that lists them all."""
    with unit_of_work(service=True) as session:
        user = make_user(session, email=f"waiting-{uuid.uuid4().hex[:8]}@example.com")
        for n in range(MAX_WAITING + 1):
            make_action(session, user, make_lead(session, user, name=f"Wait Person {n + 1:02d}"),
                        action_type=ActionType.FOLLOW_UP, state=ActionState.SENT)
        return user.id


@pytest.mark.parametrize("base_url", [None, "https://nbm.example.com"], ids=["BASE_URL unset", "BASE_URL set"])
def test_the_banner_and_the_links_of_nbm_web_name_the_address_it_serves(
        database_url: str, tmp_path: Path, base_url: str | None) -> None:
    """``nbm web --port P`` with no BASE_URL announced, and put in its pages' links, port 8000 (PORT's
    default), where nothing was served; a BASE_URL that is set is the links' address, and the banner
    says where that is served from."""
    port, log = free_port(), tmp_path / "web.log"
    env = {name: value for name, value in os.environ.items() if name not in ("BASE_URL", "PORT")}
    env.update({"DATABASE_URL": database_url, "NBM_DATA_DIR": str(tmp_path), "NBM_ENV": "test",
                **({"BASE_URL": base_url} if base_url else {})})
    public = base_url or f"http://localhost:{port}"
    with deleted_afterwards(_waiting_for_more_than_a_page_lists()) as user_id:
        with time_machine.travel(machine_now(), tick=False):  # signed by the web process's clock
            with unit_of_work(service=True) as session:
                day = local_today(session.get_one(User, user_id).timezone)
            today = urlsplit(EmailLinks.from_settings().plan_url(user_id=user_id, day=day)).path
        with log.open("wb") as output:
            web = subprocess.Popen([NBM, "web", "--port", str(port)], env=env, stdout=output, stderr=subprocess.STDOUT)
        try:
            wait_until_listening(web, port, log)
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{today}", timeout=DEADLINE_SECONDS) as response:
                page = response.read().decode()
        finally:
            web.terminate()
            web.wait(timeout=DEADLINE_SECONDS)
    assert f"nbm: serving {public} on http://127.0.0.1:{port}\n" in log.read_text()
    (everyone,) = re.findall(r'href="([^"]*/waiting/[^"]*)"', page)
    assert everyone.startswith(f"{public}/waiting/"), everyone
