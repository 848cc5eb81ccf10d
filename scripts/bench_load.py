#!/usr/bin/python3
"""Start-up load speed: 3 M keys x 100 B checkpoint, three timed restarts (Ferrite alone).
Usage: /usr/bin/python3 scripts/bench_load.py (after a Release build in build-release)."""
import os
import subprocess
import time

import redis

d = "/tmp/loadbench"
os.makedirs(d, exist_ok=True)
binary = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build-release", "src", "server", "ferrite")
def start():
    p = subprocess.Popen([binary, "--port", "7711", "--dir", d], stdout=open(d+"/log","a"), stderr=subprocess.STDOUT)
    c = redis.Redis(port=7711)
    while True:
        try:
            c.ping(); return p, c
        except redis.ConnectionError:
            time.sleep(0.002)
p, c = start()
c.execute_command("DEBUG", "POPULATE", "3000000", "key", "100")
c.save()
size = os.path.getsize(d + "/ferrite.rdb")
p.terminate(); p.wait()
for i in range(3):
    t0 = time.time()
    p, c = start()
    while int(c.info("persistence")["loading"]):
        time.sleep(0.005)
    t = time.time() - t0
    print(f"load 3M keys x 100 B from checkpoint ({size/1e6:.0f} MB): {t:.2f} s = {3e6/t/1e6:.2f} M keys/s; used_memory {int(c.info('memory')['used_memory'])/1e6:.0f} MB")
    p.terminate(); p.wait()
