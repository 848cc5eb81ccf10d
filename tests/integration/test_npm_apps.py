"""Real npm libraries built on Redis Lua scripts, unchanged, against the server under test
and against Debian's redis-server side by side: bull (job queue: priorities, delays,
retries with backoff, a job failing for good, progress, local and global events, counts,
removal, clean) and rate-limiter-flexible (consume, penalty, reward, get, delete, block,
window expiry), both through ioredis. The workload (tests/support/npm-apps/workload.js)
prints every observable outcome; the two servers must give the same. Versions are pinned by
tests/support/npm-apps/package-lock.json (scripts/setup-test-tools.sh installs them)."""
import json
import os
import shutil
import subprocess
import tempfile

import pytest

from conftest import RedisServer

APP_DIR = os.path.join(os.path.dirname(__file__), "..", "support", "npm-apps")
WORKLOAD = os.path.join(APP_DIR, "workload.js")

pytestmark = pytest.mark.skipif(
    not os.path.isdir(os.path.join(APP_DIR, "node_modules", "bull")) or not shutil.which("node"),
    reason="npm apps not installed: run scripts/setup-test-tools.sh")


def run_workload(port):
    p = subprocess.run(["node", WORKLOAD, str(port)], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


@pytest.fixture
def redis_peer():
    d = tempfile.mkdtemp(prefix="ferrite-npm-it-")
    p = RedisServer(d)
    yield p
    p.stop()
    shutil.rmtree(d, ignore_errors=True)


def test_bull_and_rate_limiter_match_redis(server_factory, redis_peer):
    s = server_factory(aof="always")   # scripts' effects go through the AOF under `always`
    ours = run_workload(s.port)
    theirs = run_workload(redis_peer.port)
    assert ours == theirs
    bull = ours["bull"]
    # The workload did what it says, so equality above compares something real.
    assert bull["prioOrder"] == ["prio-1", "prio-2", "prio-3", "prio-4", "prio-5"]
    assert bull["lateOrder"] == ["late-1", "late-2"]
    assert bull["late-1-waited"] and bull["late-2-waited"]
    assert bull["attempts"]["retry"] == 2 and bull["results"]["retry"] == {"id": "retry", "n": 3}
    assert bull["failed"]["doomed"] == "permanent" and bull["failedList"] == ["doomed"]
    assert bull["after"]["completed"] == 8 and bull["after"]["failed"] == 1
    assert bull["events"]["completed"] == 8 and bull["events"]["failed"] == 4
    assert bull["events"]["global:completed"] and bull["events"]["global:failed"]
    assert bull["cleaned"] == 8 and sum(bull["final"].values()) == 0
    rl = ours["rateLimiter"]
    assert [c["remaining"] for c in rl["consumed"]] == [4, 3, 2, 1, 0]
    assert rl["rejected"] == 2 and rl["blocked"] and rl["deleted"]
    assert rl["afterWindow"]["remaining"] == 4
    # The queue's own keys survived a restart from the AOF with the same digest.
    c = s.client()
    digest = c.execute_command("DEBUG", "DIGEST")
    s.kill()
    s2 = server_factory(dir=s.dir, aof="always")
    assert s2.client().execute_command("DEBUG", "DIGEST") == digest
