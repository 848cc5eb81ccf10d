"""Start-up loading with the port open: while the dataset loads, INFO answers and every
command without Redis's `loading` flag (PING included, as Redis 7.0: a health check must not
route traffic to a half-loaded server) gets -LOADING; INFO persistence shows the progress;
max_recovery_time."""
import os
import subprocess
import time

import pytest
import redis

from conftest import IS_REDIS, free_port

pytestmark = pytest.mark.skipif(IS_REDIS, reason="Ferrite's background loading and [recovery] keys")


def start(dir, extra="", may_exit=False):
    port = free_port()
    conf = os.path.join(dir, "load.toml")
    with open(conf, "w") as f:
        f.write(f'[server]\nbind = "127.0.0.1"\nport = {port}\ndir = "{dir}"\n'
                f'enable_debug_command = "yes"\n'
                f"[persistence]\naof_enabled = false\ncheckpoint_enabled = false\n{extra}")
    log = open(os.path.join(dir, f"load-{port}.log"), "w")
    proc = subprocess.Popen([os.environ["FERRITE_BIN"], "--config", conf], stdout=log,
                            stderr=subprocess.STDOUT)
    c = redis.Redis(port=port, socket_timeout=60)
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            c.ping()
            return proc, c, log.name
        except redis.exceptions.BusyLoadingError:
            return proc, c, log.name  # up, and loading
        except redis.ConnectionError:
            if proc.poll() is not None:
                if may_exit:
                    return proc, None, log.name
                break
            time.sleep(0.005)
    raise RuntimeError("did not start: " + open(log.name).read())


def make_checkpoint(server_factory, keys):
    s = server_factory()
    c = s.client(socket_timeout=300)  # populating millions of keys takes a while unoptimized
    c.execute_command("DEBUG", "POPULATE", str(keys), "key", "64")
    c.rpush("list", *range(1000))
    digest = c.execute_command("DEBUG", "DIGEST")
    c.save()
    s.keep = True
    s.stop()
    return s.dir, digest


def test_loading_answers_info_and_refuses_the_rest_ping_included(server_factory):
    # recovery.key_load_delay (Redis's key-load-delay) makes the loader wait 20 us per key:
    # 100 000 keys take two seconds or more on any machine, so the load is always seen.
    dir, digest = make_checkpoint(server_factory, 100_000)
    proc, c, _ = start(dir, "[recovery]\nkey_load_delay = 20\n")
    try:
        saw_loading = False
        refused = 0
        perc_seen = set()
        deadline = time.time() + 120
        while time.time() < deadline:
            info = c.info("persistence")
            if not info["loading"]:
                break
            saw_loading = True
            try:
                c.ping()
                assert not int(c.info("persistence")["loading"])  # the load just finished
                break
            except redis.exceptions.BusyLoadingError:
                pass
            assert c.time()  # commands with the loading flag answer
            perc_seen.add(float(info["loading_loaded_perc"]))
            assert "loading_eta_seconds" in info and "loading_total_bytes" in info
            try:
                c.get("key:1")
                # Answered: the load must have finished between INFO and GET.
                assert not int(c.info("persistence")["loading"])
                break
            except redis.exceptions.BusyLoadingError as e:
                assert "loading the dataset" in str(e)
                refused += 1
            time.sleep(0.002)
        assert saw_loading and refused > 0, "the load finished before it could be observed"
        assert c.info("persistence")["loading"] == 0
        assert c.dbsize() == 100_001
        assert c.execute_command("DEBUG", "DIGEST") == digest
    finally:
        proc.terminate()
        proc.wait(20)


def test_max_recovery_time_abort_stops_start_up(server_factory):
    dir, _ = make_checkpoint(server_factory, 300_000)
    proc, c, log = start(dir, '[recovery]\nmax_recovery_time = "1ms"\nmax_recovery_time_action = "abort"\n',
                         may_exit=True)
    try:
        rc = proc.wait(60)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    assert rc == 1
    text = open(log).read()
    assert "max_recovery_time" in text
    # Nothing on disk was touched: a normal start loads everything.
    proc2, c2, _ = start(dir)
    try:
        deadline = time.time() + 60
        while c2.info("persistence")["loading"] and time.time() < deadline:
            time.sleep(0.05)
        assert c2.dbsize() == 300_001
    finally:
        proc2.terminate()
        proc2.wait(20)


def test_max_recovery_time_continue_finishes(server_factory):
    dir, digest = make_checkpoint(server_factory, 200_000)
    proc, c, log = start(dir, '[recovery]\nmax_recovery_time = "1ms"\nmax_recovery_time_action = "continue"\n')
    try:
        deadline = time.time() + 60
        while c.info("persistence")["loading"] and time.time() < deadline:
            time.sleep(0.05)
        assert c.execute_command("DEBUG", "DIGEST") == digest
        assert "going on" in open(log).read()
    finally:
        proc.terminate()
        proc.wait(20)
