"""Tiered storage (#7): values move RAM -> warm mmap segments -> cold compressed segments ->
S3 (a real s3rver on loopback), and come back correct; restarts keep tiered data; damaged
segments give errors naming the key and the file.

Ferrite only: Redis has no tiers."""
import glob
import hashlib
import os
import shutil
import subprocess
import sys
import time

import pytest
import redis

from conftest import IS_REDIS, RedisServer, Server

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from s3rver import ACCESS_KEY, REGION, SECRET_KEY, S3Server  # noqa: E402

pytestmark = pytest.mark.skipif(IS_REDIS, reason="tiered storage is Ferrite's")

MB = 1 << 20
HOT = 4 * MB
SMALL_TIERS = {"enabled": True, "hot_tier_size": "4MB", "warm_tier_size": "8MB", "segment_size": "2MB",
               "compaction_rate": "256MB"}


@pytest.fixture
def tiered():
    """A server with small tiers (hot 4 MB, warm 8 MB, 2 MB segments), stopped after the test."""
    srv = Server(storage=SMALL_TIERS)
    yield srv
    srv.stop()


def tool(name):
    tools = os.environ.get("FERRITE_TOOLS_DIR", "")
    if not tools:
        tools = os.path.join(os.path.dirname(os.environ.get("FERRITE_BIN", "")), "..", "..", "tools")
    return os.path.join(tools, name)


def value(i, size=2000):
    """Distinct, half compressible, half not: every byte checked on the way back."""
    head = hashlib.sha256(str(i).encode()).hexdigest().encode() * (size // 128 + 1)
    tail = (str(i).encode() + b"|") * (size // 4)
    return (head[: size // 2] + tail)[:size]


def write(r, n, size=2000, prefix="k", batch=500, start=0):
    for lo in range(start, start + n, batch):
        p = r.pipeline(transaction=False)
        for i in range(lo, min(start + n, lo + batch)):
            p.set(f"{prefix}{i}", value(i, size))
        p.execute()


def check_all(r, n, size=2000, prefix="k", batch=500, start=0):
    for lo in range(start, start + n, batch):
        p = r.pipeline(transaction=False)
        keys = range(lo, min(start + n, lo + batch))
        for i in keys:
            p.get(f"{prefix}{i}")
        for i, got in zip(keys, p.execute()):
            assert got == value(i, size), f"{prefix}{i}"


def tiering(r):
    return r.info("tiering")


def wait_for(pred, timeout=30, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def rss_anon_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1])
    return 0


def test_dataset_ten_times_hot_reads_back_with_bounded_memory(tiered):
    srv = tiered
    r = srv.client()
    n = 20000  # 2000-byte values: 40 MB, 10 x hot_tier_size
    write(r, n)
    t = tiering(r)
    assert t["tiering_enabled"] == 1
    assert t["tier_demotions"] > n // 2
    wait_for(lambda: tiering(r)["tier_cold_keys"] > 0, what="values in cold segments")
    # Memory: the hot budget plus the keys, not the dataset.
    used = r.info("memory")["used_memory"]
    assert used < HOT + 12 * MB, used
    assert rss_anon_kb(srv.proc.pid) * 1024 < 40 * MB, rss_anon_kb(srv.proc.pid)
    # Files: warm segments in <dir>/tier, cold ones (lz4) in <dir>/tier/cold.
    assert glob.glob(os.path.join(srv.dir, "tier", "seg-*.warm"))
    assert glob.glob(os.path.join(srv.dir, "tier", "cold", "seg-*.cold"))
    check_all(r, n)
    t = tiering(r)
    assert t["tier_reads_warm"] + t["tier_reads_cold"] > 0
    assert t["tier_read_errors"] == 0
    assert t["tier_cold_read_count"] > 0 and t["tier_cold_read_p99_usec"] > 0
    # Read once, cold values are lent to the command and stay where they are.
    assert t["tier_lent_reads"] > 0
    assert r.info("memory")["used_memory"] < HOT + 12 * MB
    assert r.dbsize() == n


def test_collections_move_out_and_back(tiered):
    srv = tiered
    r = srv.client()
    n = 1500
    for lo in range(0, n, 100):
        p = r.pipeline(transaction=False)
        for i in range(lo, lo + 100):
            p.hset(f"h{i}", mapping={f"f{j}": value(i * 100 + j, 60) for j in range(40)})
            p.rpush(f"l{i}", *[value(i + j, 50) for j in range(40)])
            p.sadd(f"s{i}", *[value(i + j, 40) for j in range(40)])
            p.zadd(f"z{i}", {value(i + j, 40): j * 1.5 for j in range(40)})
        p.execute()
    digest = r.execute_command("DEBUG", "DIGEST")
    assert tiering(r)["tier_demotions"] > n
    for i in range(0, n, 7):
        assert r.hget(f"h{i}", "f3") == value(i * 100 + 3, 60)
        assert r.lrange(f"l{i}", 0, 1) == [value(i, 50), value(i + 1, 50)]
        assert r.sismember(f"s{i}", value(i + 5, 40))
        assert r.zscore(f"z{i}", value(i + 2, 40)) == 3.0
        assert r.type(f"z{i}") == b"zset"
    # Writes to offloaded collections.
    r.hset("h1", "new", "v")
    r.rpush("l2", "tail")
    assert r.hget("h1", "new") == b"v" and r.rpop("l2") == b"tail"
    r.hdel("h1", "new")
    assert r.execute_command("DEBUG", "DIGEST") == digest


def test_overwrites_and_deletes_are_compacted(tiered):
    srv = tiered
    r = srv.client()
    n = 12000
    write(r, n)
    wait_for(lambda: tiering(r)["tier_cold_keys"] > 0, what="cold values")
    for i in range(0, n, 2):
        r.delete(f"k{i}")
    write(r, n // 4, prefix="other")  # pushes more values out; dead space piles up
    wait_for(lambda: tiering(r)["tier_compactions"] > 0, timeout=60, what="a compaction")
    for i in range(1, n, 2):
        assert r.get(f"k{i}") == value(i), i
    assert r.get("k0") is None
    check_all(r, n // 4, prefix="other")
    assert tiering(r)["tier_compaction_reclaimed_bytes"] > 0


def with_cold_values(n):
    """A server with small tiers and checkpoints on, n values written, some of them cold."""
    srv = Server(storage=SMALL_TIERS, persistence={"checkpoint_enabled": True})
    r = srv.client()
    write(r, n)
    wait_for(lambda: tiering(r)["tier_cold_keys"] > 0, what="cold values")
    return srv, r


def test_restart_from_checkpoint_reopens_segments():
    n = 15000
    srv, r = with_cold_values(n)
    try:
        r.save()
        size = os.path.getsize(os.path.join(srv.dir, "ferrite.rdb"))
        # The checkpoint references the segments instead of copying 30 MB of values.
        assert size < n * 2000 / 4, size
        srv.keep = True
    finally:
        srv.stop()
    # ferrite-check-rdb verifies the referenced values in their segments too.
    out = subprocess.run([tool("ferrite-check-rdb"), os.path.join(srv.dir, "ferrite.rdb")], capture_output=True,
                         timeout=120, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "tier references:" in out.stdout and "every referenced tier value" in out.stdout, out.stdout
    # ferrite-rdb export writes a Redis RDB with the values read from the segments.
    dump = os.path.join(srv.dir, "dump.rdb")
    out = subprocess.run([tool("ferrite-rdb"), "export", os.path.join(srv.dir, "ferrite.rdb"), dump],
                         capture_output=True, timeout=120, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    rs = RedisServer(srv.dir)  # returns once the dump is loaded (or fails with its log)
    try:
        rr = rs.client()
        assert rr.dbsize() == n
        for i in range(0, n, 97):
            assert rr.get(f"k{i}") == value(i)
    finally:
        rs.stop()
    srv2 = Server(dir=srv.dir, storage=SMALL_TIERS, persistence={"checkpoint_enabled": True})
    try:
        r = srv2.client()
        t = tiering(r)
        assert t["tier_warm_keys"] + t["tier_cold_keys"] > n // 2  # still out of RAM
        assert r.info("memory")["used_memory"] < HOT + 16 * MB
        check_all(r, n)
        assert srv2.logs().count("segment(s) found") == 1
    finally:
        srv2.stop()


def test_restart_from_aof_with_checkpoint_preamble_after_a_crash():
    srv = Server(aof="always", storage=SMALL_TIERS, persistence={"aof_use_checkpoint_preamble": True})
    try:
        r = srv.client()
        write(r, 8000)
        r.bgrewriteaof()
        wait_for(lambda: r.info("persistence")["aof_rewrite_in_progress"] == 0, what="the rewrite")
        write(r, 2000, start=8000)  # the AOF tail, after the preamble
        for i in range(0, 1000):
            r.delete(f"k{i}")
        srv.kill()
    finally:
        if srv.proc.poll() is None:
            srv.stop()
    with open(srv.aof_path(), "rb") as f:
        assert f.read(8) == b"FERRCKPT"
    srv2 = Server(dir=srv.dir, aof="always", storage=SMALL_TIERS,
                  persistence={"aof_use_checkpoint_preamble": True})
    try:
        r = srv2.client()
        assert r.dbsize() == 9000
        check_all(r, 9000, start=1000)
    finally:
        srv2.stop()


def where(r, key):
    """(tier, file, offset, length) of a key's value, from DEBUG OBJECT."""
    info = r.execute_command("DEBUG", "OBJECT", key).decode()
    fields = dict(f.split(":", 1) for f in info.split() if ":" in f)
    return fields.get("tier"), fields.get("file"), int(fields.get("offset", -1)), int(fields.get("length", -1))


def test_corrupt_and_truncated_segments_name_key_and_file():
    n = 15000
    srv, r = with_cold_values(n)
    try:
        r.execute_command("DEBUG", "TIER", "PAUSE")  # values stay where DEBUG OBJECT finds them
        wait_for(lambda: tiering(r)["tier_jobs_in_flight"] == 0 and tiering(r)["tier_moves_in_flight"] == 0,
                 what="running tier jobs")
        r.save()
        picked, colds = {}, []
        for i in range(n):
            tier, path, off, length = where(r, f"k{i}")
            if tier == "warm" and "warm" not in picked:
                picked["warm"] = (f"k{i}", path, off, length)
            if tier == "cold":
                colds.append((path, off, length, f"k{i}"))
        colds.sort()
        # One cold record corrupted (the first of a file), one cut off by a truncation (the
        # last record of the last file).
        path, off, length, key = colds[0]
        picked["cold"] = (key, path, off, length)
        path, off, length, key = colds[-1]
        last = (key, path, off, length)
        assert last[0] != picked["cold"][0]
        srv.keep = True
    finally:
        srv.stop()
    assert "warm" in picked and "cold" in picked and last
    for tier in ("warm", "cold"):  # one flipped byte inside the value's record
        key, path, off, length = picked[tier]
        with open(path, "r+b") as f:
            f.seek(off + length - 7)
            b = f.read(1)
            f.seek(off + length - 7)
            f.write(bytes([b[0] ^ 0xFF]))
    os.truncate(last[1], last[2] + last[3] - 50)
    out = subprocess.run([tool("ferrite-check-rdb"), os.path.join(srv.dir, "ferrite.rdb")], capture_output=True,
                         timeout=120, text=True)
    assert out.returncode == 1, out.stdout
    for key, path in ((picked["cold"][0], picked["cold"][1]), (picked["warm"][0], picked["warm"][1]),
                      (last[0], last[1])):
        assert f"key '{key}'" in out.stdout and path in out.stdout, out.stdout

    srv2 = Server(dir=srv.dir, storage=SMALL_TIERS, persistence={"checkpoint_enabled": True})
    try:
        r = srv2.client()
        for key, path in ((picked["cold"][0], picked["cold"][1]), (picked["warm"][0], picked["warm"][1]),
                          (last[0], last[1])):
            with pytest.raises(redis.ResponseError) as e:
                r.get(key)
            msg = str(e.value)
            assert key in msg and path in msg, msg
            assert "checksum mismatch" in msg or "truncated" in msg or "past the end" in msg, msg
        assert "truncated" in srv2.logs()
        # Everything else reads back; the server is fine.
        bad = {picked["cold"][0], picked["warm"][0], last[0]}
        for i in range(0, n, 3):
            if f"k{i}" not in bad:
                assert r.get(f"k{i}") == value(i)
        assert r.ping()
        assert tiering(r)["tier_read_errors"] >= 3
    finally:
        srv2.stop()


def archive_settings(s3, after="1s"):
    return {"enabled": True, "bucket": "ferrite-archive", "archive_after": after, "endpoint": s3.endpoint,
            "region": REGION, "access_key_id": ACCESS_KEY, "secret_access_key": SECRET_KEY,
            "path_style": True, "prefix": "it/"}


def test_archive_round_trip_through_s3_and_restart():
    with S3Server(bucket="ferrite-archive") as s3:
        srv = Server(storage=SMALL_TIERS, archive=archive_settings(s3), persistence={"checkpoint_enabled": True})
        try:
            r = srv.client()
            n = 12000
            write(r, n)
            wait_for(lambda: tiering(r)["tier_archive_segments"] > 0, timeout=60, what="an archived segment")
            assert glob.glob(os.path.join(srv.dir, "tier", "seg-*.archived"))
            # The object is in the bucket; its local copy is gone.
            arch = tiering(r)
            assert arch["tier_archive_uploads"] >= 1 and arch["tier_archive_keys"] > 0
            archived_ids = [os.path.basename(p).split(".")[0] for p in
                            glob.glob(os.path.join(srv.dir, "tier", "seg-*.archived"))]
            for sid in archived_ids:
                assert not os.path.exists(os.path.join(srv.dir, "tier", "cold", sid + ".cold"))
                assert os.path.exists(s3.object_path(f"it/{sid}.cold"))
            check_all(r, n)
            assert tiering(r)["tier_archive_fetches"] > 0
            r.save()
            srv.keep = True
        finally:
            srv.stop()
        srv2 = Server(dir=srv.dir, storage=SMALL_TIERS, archive=archive_settings(s3, "1h"),
                      persistence={"checkpoint_enabled": True})
        try:
            r = srv2.client()
            check_all(r, n)
            assert tiering(r)["tier_read_errors"] == 0
        finally:
            srv2.stop()


def test_s3_down_mid_upload_is_retried_and_nothing_is_deleted():
    with S3Server(bucket="ferrite-archive") as s3:
        s3.stop()  # down before the first upload
        srv = Server(storage=SMALL_TIERS, archive=archive_settings(s3))
        try:
            r = srv.client()
            n = 10000
            write(r, n)
            wait_for(lambda: tiering(r)["tier_archive_upload_failures"] > 0, timeout=60, what="a failed upload")
            t = tiering(r)
            assert t["tier_archive_segments"] == 0 and t["tier_cold_segments"] > 0
            assert "archiving segment" in srv.logs() and "kept locally" in srv.logs()
            check_all(r, n)  # still served from the local cold files
            s3.start()
            wait_for(lambda: tiering(r)["tier_archive_uploads"] > 0, timeout=90, what="the retried upload")
            check_all(r, n)
        finally:
            srv.stop()


def test_archive_unreachable_on_read_is_a_clear_error():
    with S3Server(bucket="ferrite-archive") as s3:
        srv = Server(storage=SMALL_TIERS, archive=archive_settings(s3))
        try:
            r = srv.client()
            n = 12000
            write(r, n)
            wait_for(lambda: tiering(r)["tier_archive_keys"] > 0, timeout=60, what="archived values")
            s3.stop()
            errors = 0
            archived = [i for i in range(0, n, 7) if where(r, f"k{i}")[0] == "archive"][:3]
            assert archived
            for i in archived:  # each read retries the archive for about a second, then fails
                with pytest.raises(redis.ResponseError) as e:
                    r.get(f"k{i}")
                assert "ferrite-archive/it/seg-" in str(e.value) and f"k{i}" in str(e.value), str(e.value)
                assert "Connection refused" in str(e.value) or "connect" in str(e.value), str(e.value)
                errors += 1
            assert errors == len(archived)
            assert r.ping()
            s3.start()
            check_all(r, n)
        finally:
            srv.stop()


def test_transactions_and_blocking_commands_on_cold_values(tiered):
    srv = tiered
    r = srv.client()
    for lo in range(0, 3000, 200):
        p = r.pipeline(transaction=False)
        for i in range(lo, lo + 200):
            p.rpush(f"list{i}", *[value(i * 50 + j, 50) for j in range(40)])
        p.execute()
    write(r, 15000)

    def tiers_of(keys):
        p = r.pipeline(transaction=False)
        for k in keys:
            p.execute_command("DEBUG", "OBJECT", k)
        return {k: dict(f.split(":", 1) for f in info.decode().split() if ":" in f).get("tier")
                for k, info in zip(keys, p.execute())}

    # The strings written first reach the cold tier once the warm one overflows.
    strings = [f"k{i}" for i in range(15000)]
    wait_for(lambda: "cold" in tiers_of(strings).values(), timeout=60, what="cold strings")
    r.execute_command("DEBUG", "TIER", "PAUSE")
    wait_for(lambda: tiering(r)["tier_moves_in_flight"] == 0, what="running moves")
    cold = [k for k, t in tiers_of(strings).items() if t == "cold"][:5]
    lists = [f"list{i}" for i in range(3000)]
    cold_lists = [k for k, t in tiers_of(lists).items() if t in ("cold", "warm")][:3]
    assert cold and cold_lists
    # MULTI/EXEC: the transaction waits for its cold values, then runs whole.
    p = r.pipeline(transaction=True)
    for k in cold:
        p.get(k)
    p.incr("counter")
    res = p.execute()
    assert res[:-1] == [value(int(k[1:])) for k in cold] and res[-1] == 1
    # Blocking pops find the data of an offloaded list at once.
    for name in cold_lists:
        i = int(name[4:])
        assert r.blpop(name, timeout=1) == (name.encode(), value(i * 50, 50))
        assert r.llen(name) == 39
    # Other clients are served while one waits for a cold read.
    r2 = srv.client()
    assert r2.ping()


def test_tier_metrics_on_the_prometheus_endpoint():
    from conftest import free_port
    import urllib.request
    mport = free_port()
    srv = Server(storage=SMALL_TIERS, metrics={"enabled": True, "bind": "127.0.0.1", "port": mport})
    try:
        r = srv.client()
        write(r, 12000)
        wait_for(lambda: tiering(r)["tier_cold_keys"] > 0, what="cold values")
        check_all(r, 2000)

        def scrape():
            with urllib.request.urlopen(f"http://127.0.0.1:{mport}/metrics", timeout=5) as resp:
                return resp.read().decode()

        def sample(text, name):
            for line in text.splitlines():
                if line.startswith(name + " ") or line.startswith(name + "{"):
                    if line.split(" ")[0] == name or line.startswith(name):
                        yield line
        wait_for(lambda: 'ferrite_tier_keys{tier="cold"} 0' not in scrape() and
                 "ferrite_tier_cold_read_latency_seconds_count 0" not in scrape(), what="tier metrics")
        text = scrape()
        cold = [l for l in sample(text, "ferrite_tier_keys") if 'tier="cold"' in l][0]
        assert float(cold.split()[-1]) > 0
        assert float([l for l in sample(text, "ferrite_tier_demotions_total")][0].split()[-1]) > 0
        assert 'ferrite_tier_cold_read_latency_seconds{quantile="0.99"}' in text
        if shutil.which("promtool"):
            out = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True,
                                 timeout=30)
            assert out.returncode == 0, out.stdout + out.stderr
    finally:
        srv.stop()

