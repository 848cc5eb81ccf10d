"""Checkpoints with real servers: SAVE, BGSAVE, LASTSAVE, reload at start. Runs against
Redis too (its dump.rdb) to prove the expectations."""
import time

import pytest

from conftest import IS_REDIS


def wait_lastsave_after(c, t0, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if c.lastsave().timestamp() > t0:
            return True
        time.sleep(0.05)
    return False


def test_bgsave_then_restart_restores_the_saved_state(server_factory):
    s = server_factory()
    c = s.client()
    c.execute_command("DEBUG", "POPULATE", "20000")
    c.set("ttl", "x", ex=1000)
    c.execute_command("SELECT", "5")
    c.set("in5", "yes")
    c.execute_command("SELECT", "0")
    digest = c.execute_command("DEBUG", "DIGEST")
    t0 = c.lastsave().timestamp()
    while int(time.time()) <= t0:  # LASTSAVE has one-second resolution
        time.sleep(0.05)
    assert c.bgsave()
    assert wait_lastsave_after(c, t0)
    assert c.info("persistence")["rdb_last_bgsave_status"] == "ok"
    c.set("after-save", "1")  # not in the checkpoint: no AOF, so lost at restart
    s.keep = True
    s.stop()
    s2 = server_factory(dir=s.dir)
    c2 = s2.client()
    assert c2.execute_command("DEBUG", "DIGEST") == digest
    assert c2.get("after-save") is None
    assert 990 <= c2.ttl("ttl") <= 1000


def test_save_is_synchronous(server_factory):
    s = server_factory()
    c = s.client()
    c.set("a", "1")
    t0 = c.lastsave().timestamp()
    while int(time.time()) <= t0:
        time.sleep(0.05)
    assert c.save()
    assert c.lastsave().timestamp() > t0
    assert c.info("persistence")["rdb_changes_since_last_save"] == 0


@pytest.mark.skipif(IS_REDIS, reason="Ferrite's fork-less save reports no copy-on-write")
def test_bgsave_info_fields(server_factory):
    s = server_factory()
    c = s.client()
    c.set("a", "1")
    c.bgsave()
    deadline = time.time() + 10
    while c.info("persistence")["rdb_bgsave_in_progress"] and time.time() < deadline:
        time.sleep(0.05)
    info = c.info("persistence")
    assert info["rdb_saves"] >= 1
    assert info["rdb_last_cow_size"] == 0
    assert info["rdb_last_bgsave_status"] == "ok"


@pytest.mark.skipif(IS_REDIS, reason="Ferrite's checkpoint format and tool")
def test_check_rdb_tool_and_corruption(server_factory):
    import os
    import subprocess
    tools = os.environ.get("FERRITE_TOOLS_DIR", "")
    exe = os.path.join(tools, "ferrite-check-rdb") if tools else "ferrite-check-rdb"
    s = server_factory()
    c = s.client()
    c.execute_command("DEBUG", "POPULATE", "5000")
    c.execute_command("SELECT", "2")
    c.set("x", "1", ex=100)
    assert c.save()
    path = os.path.join(s.dir, "ferrite.rdb")
    out = subprocess.run([exe, path], capture_output=True, timeout=60)
    assert out.returncode == 0, out.stdout
    assert b"db0 string: 5000 keys" in out.stdout and b"db2 string: 1 keys" in out.stdout
    with open(path, "r+b") as f:
        f.seek(3000)
        b = f.read(1)
        f.seek(3000)
        f.write(bytes([b[0] ^ 0xFF]))
    out = subprocess.run([exe, path], capture_output=True, timeout=60)
    assert out.returncode == 1
    assert b"offset" in out.stdout
    # The server refuses to start on it rather than serve part of the data.
    s.keep = True
    s.stop()
    with pytest.raises(RuntimeError) as e:
        server_factory(dir=s.dir)
    assert "checkpoint" in str(e.value)
