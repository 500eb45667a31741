"""Heroku Redis: a ``rediss://`` server with a self-signed certificate, as Heroku's add-ons hand out.

A real redis-server is started here speaking TLS only (its plain port is off), on a free port, with a
certificate this module makes; jobs go through it as an operator runs them (``nbm worker``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator

import pytest
from click.testing import CliRunner
from rq import SimpleWorker
from rq.job import JobStatus
from sqlalchemy import Engine

from bot.chaos.loopback_tls import loopback_certificate
from bot.cli import jobs as jobs_cli
from bot.cli import main
from core import config, queue
from tests.factories import machine_now
from tests.servers import free_port, wait_until_redis_ready, without_libfaketime


def add_numbers(a: int, b: int) -> int:
    """The job: RQ imports it by its dotted name, as it does the product's jobs."""
    return a + b


@pytest.fixture(scope="module")
def tls_redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``rediss://`` URL of a redis-server that speaks only TLS, with a self-signed certificate."""
    binary = shutil.which("redis-server")
    if binary is None:
        missing = "needs Debian's redis-server (apt-get install redis-server)"
        if os.environ.get("CI"):  # CI runs a redis-server: missing there is a failure, not a skip
            pytest.fail(missing)
        pytest.skip(missing)
    folder = tmp_path_factory.mktemp("tls-redis")
    certificate = loopback_certificate(folder, now=machine_now())  # only the missing authority is wrong with it
    cert_file, key_file = certificate.cert_file, certificate.key_file
    port = free_port()
    server = subprocess.Popen(
        [binary, "--port", "0", "--tls-port", str(port), "--bind", "127.0.0.1",
         "--tls-cert-file", str(cert_file), "--tls-key-file", str(key_file), "--tls-ca-cert-file", str(cert_file),
         "--tls-auth-clients", "no", "--save", "", "--appendonly", "no", "--dir", str(folder)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=without_libfaketime(),
    )
    try:
        wait_until_redis_ready(server)
        yield f"rediss://127.0.0.1:{port}/0"
    finally:
        server.terminate()
        server.wait(timeout=10)
        assert server.stdout is not None
        server.stdout.close()


@pytest.fixture()
def environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    """Set variables as an operator would; each process reads its settings and connects afresh."""

    def use(**values: str) -> None:
        monkeypatch.delenv("REDIS_TLS_VERIFY", raising=False)
        for name, value in values.items():
            monkeypatch.setenv(name, value)
        config.get_settings.cache_clear()
        queue.get_redis.cache_clear()

    yield use
    monkeypatch.undo()
    config.get_settings.cache_clear()
    queue.get_redis.cache_clear()


def test_with_herokus_setting_a_job_is_enqueued_and_run_over_tls(
    tls_redis_url: str, environment: Callable[..., None], engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    environment(REDIS_URL=tls_redis_url, REDIS_TLS_VERIFY="false")
    job = queue.get_queue().enqueue(add_numbers, 2, 3)
    monkeypatch.setattr(jobs_cli, "Worker", SimpleWorker)  # RQ's own worker, with its scheduler, in this process
    result = CliRunner().invoke(main, ["worker", "--burst"])
    assert result.exit_code == 0, result.output
    assert f"Redis at {tls_redis_url} (REDIS_URL)" in result.output
    job.refresh()
    assert (job.get_status(), job.return_value()) == (JobStatus.FINISHED, 5)


@pytest.mark.parametrize("verify", [{}, {"REDIS_TLS_VERIFY": "true"}], ids=["default", "true"])
def test_with_verification_on_the_self_signed_certificate_is_refused_naming_the_setting(
    tls_redis_url: str, environment: Callable[..., None], engine: Engine, verify: dict[str, str]
) -> None:
    environment(REDIS_URL=tls_redis_url, **verify)
    result = CliRunner().invoke(main, ["worker", "--burst"])
    assert result.exit_code == 2, result.output
    assert "cannot be verified (self-signed certificate)" in result.output
    assert "set REDIS_TLS_VERIFY=false" in result.output
