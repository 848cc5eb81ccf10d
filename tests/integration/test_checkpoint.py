"""Checkpoints with real servers: SAVE, BGSAVE, LASTSAVE, reload at start. Runs against
Redis too (its dump.rdb) to prove the expectations."""
import time

import pytest

from conftest import IS_REDIS, wait_past_lastsave


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
    wait_past_lastsave(t0)
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
    wait_past_lastsave(t0)
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


def test_large_values_are_saved_at_the_cut_and_restored(server_factory):
    """Multi-MB values (streamed in chunks by Ferrite) changed right after BGSAVE: the
    restart holds each exactly as it was at the cut."""
    import os
    import subprocess
    s = server_factory()
    # DEBUG DIGEST of 600 000 elements: seconds on a loaded 2-core machine.
    c = s.client(socket_timeout=60)
    big = bytes(range(256)) * (32 * 1024)  # 8 MB
    c.set("bigstr", big)
    p = c.pipeline(transaction=False)
    for i in range(0, 200000, 2000):
        p.hset("bighash", mapping={f"field:{j}": f"value:{j * 7}" for j in range(i, i + 2000)})
        p.rpush("biglist", *[f"element-{j}" for j in range(i, i + 2000)])
        p.zadd("bigzset", {f"m{j}": j * 0.25 for j in range(i, i + 2000)})
    p.execute()
    c.hset("wide", mapping={"a": "1", "huge": b"w" * (2 << 20)})
    digest = c.execute_command("DEBUG", "DIGEST")
    t0 = c.lastsave().timestamp()
    wait_past_lastsave(t0)
    assert c.bgsave()
    # Changed at once, during the save: none of it may reach the checkpoint.
    c.append("bigstr", "late")
    c.hset("bighash", "late", "1")
    c.rpush("biglist", "late")
    c.zadd("bigzset", {"late": -1})
    c.hdel("wide", "huge")
    assert wait_lastsave_after(c, t0, timeout=120)
    assert c.info("persistence")["rdb_last_bgsave_status"] == "ok"
    s.keep = True
    s.stop()
    if not IS_REDIS:
        tools = os.environ.get("FERRITE_TOOLS_DIR", "")
        exe = os.path.join(tools, "ferrite-check-rdb") if tools else "ferrite-check-rdb"
        out = subprocess.run([exe, os.path.join(s.dir, "ferrite.rdb")], capture_output=True, timeout=120)
        assert out.returncode == 0, out.stdout
        assert b"db0 hash: 2 keys" in out.stdout, out.stdout
        assert b"streamed_values=5" in out.stdout, out.stdout
    s2 = server_factory(dir=s.dir)
    c2 = s2.client(socket_timeout=60)
    assert c2.execute_command("DEBUG", "DIGEST") == digest
    assert c2.strlen("bigstr") == len(big)
    assert c2.hlen("bighash") == 200000 and c2.llen("biglist") == 200000
    assert c2.hstrlen("wide", "huge") == 2 << 20
