"""Hybrid recovery: a checkpoint plus the AOF's tail after the checkpoint's position.
Every write is applied exactly once (also one made while the checkpoint was being taken).
The scenario tests run against Redis too (its AOF alone restores everything); the checks
that the checkpoint was actually used read Ferrite's log."""
import time

import pytest
import redis

from conftest import IS_REDIS, wait_past_lastsave

ferrite_only = pytest.mark.skipif(IS_REDIS, reason="reads Ferrite's recovery log")


def bgsave_and_wait(c, timeout=60):
    t0 = c.lastsave().timestamp()
    wait_past_lastsave(t0)
    assert c.bgsave()
    deadline = time.time() + timeout
    while time.time() < deadline:
        if c.lastsave().timestamp() > t0 and c.info("persistence")["rdb_bgsave_in_progress"] == 0:
            return
        time.sleep(0.05)
    raise AssertionError("BGSAVE did not finish")


def test_set_bgsave_set_then_kill_restores_everything(server_factory):
    """Redis's own scenario: SET a, SET b, BGSAVE, SET c, SIGKILL: a, b and c all back."""
    s = server_factory(aof="always")
    c = s.client()
    c.set("a", "1")
    c.set("b", "2")
    bgsave_and_wait(c)
    c.set("c", "3")
    c.rpush("list", "x", "y")
    digest = c.execute_command("DEBUG", "DIGEST")
    s.kill()
    s2 = server_factory(dir=s.dir, aof="always")
    c2 = s2.client()
    assert c2.mget("a", "b", "c") == [b"1", b"2", b"3"]
    assert c2.execute_command("DEBUG", "DIGEST") == digest


@ferrite_only
def test_restart_loads_the_checkpoint_and_replays_only_the_tail(server_factory):
    s = server_factory(aof="always")
    c = s.client()
    c.execute_command("DEBUG", "POPULATE", "20000")
    c.hset("h", mapping={"f": "v"})
    bgsave_and_wait(c)
    for _ in range(5):
        c.incr("counter")
    c.execute_command("SELECT", "3")
    c.set("in3", "yes")  # the tail needs its own SELECT
    c.execute_command("SELECT", "0")
    c.zadd("z", {"m": 1.5})
    digest = c.execute_command("DEBUG", "DIGEST")
    s.kill()
    s2 = server_factory(dir=s.dir, aof="always")
    c2 = s2.client()
    log = s2.logs()
    assert "Loading checkpoint" in log
    assert "from offset" in log, log
    assert c2.get("counter") == b"5"  # each INCR applied once: not in the checkpoint, once in the tail
    assert c2.execute_command("DEBUG", "DIGEST") == digest
    c2.execute_command("SELECT", "3")
    assert c2.get("in3") == b"yes"


@ferrite_only
def test_writes_during_the_checkpoint_are_applied_exactly_once(server_factory):
    s = server_factory(aof="always")
    c = s.client()
    c.execute_command("DEBUG", "POPULATE", "300000")
    t0 = c.lastsave().timestamp()
    wait_past_lastsave(t0)
    assert c.bgsave()
    # INCRs land while the freeze is being written (the pass takes a while at 300 k keys).
    for _ in range(50):
        c.incr("during")
    deadline = time.time() + 60
    while c.lastsave().timestamp() <= t0 and time.time() < deadline:
        c.incr("during")
        time.sleep(0.01)
    n = int(c.get("during"))
    digest = c.execute_command("DEBUG", "DIGEST")
    s.kill()
    s2 = server_factory(dir=s.dir, aof="always")
    c2 = s2.client()
    assert "from offset" in s2.logs()
    assert int(c2.get("during")) == n
    assert c2.execute_command("DEBUG", "DIGEST") == digest


@ferrite_only
def test_a_checkpoint_older_than_the_last_rewrite_is_not_combined(server_factory):
    """After BGREWRITEAOF the AOF is a new generation: the checkpoint's position means nothing
    in it, so recovery replays the AOF alone (and still restores everything)."""
    s = server_factory(aof="always")
    c = s.client()
    c.set("k", "1")
    bgsave_and_wait(c)
    c.set("k", "2")
    c.bgrewriteaof()
    deadline = time.time() + 30
    while time.time() < deadline:
        p = c.info("persistence")
        if p["aof_rewrite_in_progress"] == 0 and p["aof_rewrite_scheduled"] == 0:
            break
        time.sleep(0.05)
    c.incr("n")
    s.kill()
    s2 = server_factory(dir=s.dir, aof="always")
    c2 = s2.client()
    assert "does not continue the append only file" in s2.logs()
    assert c2.get("k") == b"2"
    assert c2.get("n") == b"1"


@ferrite_only
def test_hybrid_over_an_aof_with_a_checkpoint_preamble(server_factory):
    """The AOF's identity lives in its preamble's header: a checkpoint taken after the
    rewrite still continues it, so only the tail is replayed."""
    pre = {"aof_use_checkpoint_preamble": True}
    s = server_factory(aof="always", persistence=pre)
    c = s.client()
    c.execute_command("DEBUG", "POPULATE", "5000")
    c.bgrewriteaof()
    deadline = time.time() + 30
    while c.info("persistence")["aof_rewrite_in_progress"] and time.time() < deadline:
        time.sleep(0.05)
    c.incr("n")
    bgsave_and_wait(c)
    c.incr("n")
    c.sadd("s", "a", "b")
    digest = c.execute_command("DEBUG", "DIGEST")
    s.kill()
    s2 = server_factory(dir=s.dir, aof="always", persistence=pre)
    c2 = s2.client()
    assert "from offset" in s2.logs()
    assert c2.get("n") == b"2"
    assert c2.execute_command("DEBUG", "DIGEST") == digest


@ferrite_only
def test_recovery_priority_aof_replays_the_aof_alone(server_factory):
    """recovery_priority = "aof": the checkpoint is not used even when it continues the AOF."""
    s = server_factory(aof="always")
    c = s.client()
    c.set("k", "v")
    bgsave_and_wait(c)
    c.set("k2", "v2")
    digest = c.execute_command("DEBUG", "DIGEST")
    s.kill()
    s2 = server_factory(dir=s.dir, aof="always", persistence={"recovery_priority": "aof"})
    c2 = s2.client()
    log = s2.logs()
    assert "Loading checkpoint" not in log and "from offset" not in log
    assert c2.execute_command("DEBUG", "DIGEST") == digest


# ---- Cuts only between whole propagated units (MULTI/EXEC) ----------------------------
# A checkpoint or rewrite started inside EXEC would freeze an image holding the
# transaction's first commands while the AOF position (or the log that follows the new
# base) still gets the whole transaction: replay then applies them twice. Redis 7.0 defers
# BGSAVE / BGREWRITEAOF / CONFIG SET appendonly yes to after EXEC and refuses SAVE and
# SHUTDOWN inside MULTI (no-multi); Ferrite does the same, with the same replies.

from conftest import Raw, poll  # noqa: E402


def wait_persistence_idle(c, timeout=60):
    def idle():
        p = c.info("persistence")
        return (p["rdb_bgsave_in_progress"] == 0 and p["aof_rewrite_in_progress"] == 0
                and not p.get("aof_rewrite_scheduled"))
    assert poll(idle, timeout), c.info("persistence")


@pytest.mark.parametrize("cut", [
    ("BGSAVE",), ("BGREWRITEAOF",), ("CONFIG", "SET", "appendonly", "yes")])
def test_a_cut_requested_inside_exec_is_taken_after_the_transaction(server_factory, cut):
    """MULTI; INCR x; <cut>; INCR x; EXEC, then SIGKILL: x is 2 after recovery, never 3 or 4."""
    appendonly_cut = cut[0] == "CONFIG"
    s = server_factory(aof=None if appendonly_cut else "always",
                       persistence={"checkpoint_enabled": True}
                       if not appendonly_cut else None)
    c = s.client()
    if appendonly_cut:
        c.config_set("appendfsync", "always")
    c.execute_command("DEBUG", "POPULATE", "20000")  # the cut takes a moment
    t0 = c.lastsave().timestamp()
    wait_past_lastsave(t0)
    r = Raw(s.port)
    assert r.cmd("MULTI") == "OK"
    assert r.cmd("INCR", "x") == "QUEUED"
    assert r.cmd(*cut) == "QUEUED"
    assert r.cmd("INCR", "x") == "QUEUED"
    expected = {"BGSAVE": "Background saving scheduled",
                "BGREWRITEAOF": "Background append only file rewriting scheduled",
                "CONFIG": "OK"}[cut[0]]
    assert r.cmd("EXEC") == [1, expected, 2]
    r.close()
    if cut[0] == "BGSAVE":
        assert poll(lambda: c.lastsave().timestamp() > t0, 60)
    wait_persistence_idle(c)
    if appendonly_cut:
        assert poll(lambda: c.info("persistence")["aof_enabled"] == 1, 30)
        wait_persistence_idle(c)
    s.kill()
    s2 = server_factory(dir=s.dir, aof="always")
    assert s2.client().get("x") == b"2"


def test_save_and_shutdown_are_refused_inside_multi(server_factory):
    """Redis 7.0's no-multi flag: the error at queue time, and EXEC aborts."""
    s = server_factory(aof="always")
    for cmd in (("SAVE",), ("SHUTDOWN",), ("SHUTDOWN", "NOSAVE")):
        r = Raw(s.port)
        assert r.cmd("MULTI") == "OK"
        assert r.cmd("SET", "k", "v") == "QUEUED"
        assert r.cmd(*cmd) == ("ERR", "ERR Command not allowed inside a transaction")
        assert r.cmd("EXEC") == (
            "ERR", "EXECABORT Transaction discarded because of previous errors.")
        r.close()
    c = s.client()
    assert c.ping()  # still running
    assert c.get("k") is None


def test_cuts_and_shutdown_are_refused_inside_scripts(server_factory):
    """A script is a unit too: BGSAVE, BGREWRITEAOF, SAVE, SHUTDOWN and CONFIG (noscript in
    Redis 7.0) are refused from a script, so no cut can start inside one."""
    s = server_factory(aof="always")
    c = s.client()
    for call in ("'bgsave'", "'bgrewriteaof'", "'save'", "'shutdown', 'nosave'",
                 "'config', 'set', 'appendonly', 'yes'"):
        with pytest.raises(redis.ResponseError) as e:
            c.eval(f"redis.call('incr', 'x'); return redis.call({call})", 0)
        assert str(e.value).startswith("This Redis command is not allowed from script"), call
    assert c.ping()
    assert c.get("x") == b"5"  # each script's INCR ran (a script error does not roll back)
    s.kill()
    s2 = server_factory(dir=s.dir, aof="always")
    assert s2.client().get("x") == b"5"


@pytest.mark.parametrize("checkpoint", [False, True])
def test_loading_applies_no_expiry(server_factory, checkpoint):
    """SET k 0 EX 4, INCR k, SIGKILL, restart after the TTL: k is gone (Redis's rule:
    nothing expires while loading, expired keys are deleted afterwards). Before, the replay
    dropped k at the SET and the INCR recreated it as a counter without TTL. The TTL leaves
    room for BGSAVE (which waits for LASTSAVE's next second): the INCR must reach the key
    while it still has its TTL, else the test would prove nothing."""
    s = server_factory(aof="always", persistence={"checkpoint_enabled": True})
    c = s.client()
    expires_at = time.time() + 4
    c.set("k", "0", ex=4)
    c.set("stays", "1")
    if checkpoint:
        bgsave_and_wait(c)
    assert c.incr("k") == 1
    assert c.pttl("k") > 0  # the INCR kept the TTL of the live key
    s.kill()
    time.sleep(max(0.0, expires_at + 0.3 - time.time()))
    s2 = server_factory(dir=s.dir, aof="always", persistence={"checkpoint_enabled": True})
    c2 = s2.client()
    assert c2.get("k") is None
    assert c2.ttl("k") == -2
    assert c2.get("stays") == b"1"
