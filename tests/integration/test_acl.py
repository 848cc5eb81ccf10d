"""ACL users and permissions (Redis 7.0's acl.c): every rule kind, AUTH / HELLO, the default
user and requirepass, scripts, MULTI, SORT BY/GET, ACL LOG, the ACL file round trip and the
users of the configuration. Passes against Ferrite and against Debian's redis-server
(FERRITE_TEST_TARGET=redis)."""

import os
import time

import pytest
import redis

from conftest import Server, poll


@pytest.fixture(scope="module")
def srv():
    s = Server()
    yield s
    s.stop()


@pytest.fixture
def admin(srv):
    c = srv.client(decode_responses=True)
    c.flushall()
    for u in c.acl_users():
        if u != "default":
            c.acl_deluser(u)
    c.execute_command("ACL", "LOG", "RESET")
    yield c
    c.close()


def setuser(c, name, *rules):
    return c.execute_command("ACL", "SETUSER", name, *rules)


def login(srv, user, password="pw", **kw):
    c = srv.client(decode_responses=True, **kw)
    assert c.execute_command("AUTH", user, password) is True
    return c


def err(fn, *a):
    with pytest.raises(redis.exceptions.RedisError) as e:
        fn(*a)
    return str(e.value)


def dry(c, user, *line):
    return c.execute_command("ACL", "DRYRUN", user, *line)


# ---------------------------------------------------------------- users, passwords, AUTH


def test_default_user_out_of_the_box(admin):
    assert admin.execute_command("ACL", "LIST") == ["user default on nopass ~* &* +@all"]
    assert admin.execute_command("ACL", "USERS") == ["default"]
    assert admin.execute_command("ACL", "WHOAMI") == "default"
    assert err(admin.execute_command, "AUTH", "x") == (
        "AUTH <password> called without any password configured for the default user. Are you "
        "sure your configuration is correct?")


def test_new_user_is_off_and_has_nothing(admin):
    assert setuser(admin, "u") == "OK"
    assert admin.execute_command("ACL", "LIST")[1] == "user u off resetchannels -@all"
    g = admin.execute_command("ACL", "GETUSER", "u")
    assert g[0:4] == ["flags", ["off"], "passwords", []]
    assert g[4:10] == ["commands", "-@all", "keys", "", "channels", ""]
    assert g[10:] == ["selectors", []]
    assert admin.execute_command("ACL", "GETUSER", "nobody") is None


def test_on_off_and_passwords(srv, admin):
    setuser(admin, "u", ">pw", ">pw2", "+@all", "~*")
    c = srv.client(decode_responses=True)
    # A user that is off cannot log in, whatever the password.
    assert err(c.execute_command, "AUTH", "u", "pw") == (
        "WRONGPASS invalid username-password pair or user is disabled.")
    setuser(admin, "u", "on")
    assert c.execute_command("AUTH", "u", "pw") is True
    assert c.execute_command("AUTH", "u", "pw2") is True
    assert c.execute_command("ACL", "WHOAMI") == "u"
    setuser(admin, "u", "<pw")
    assert err(c.execute_command, "AUTH", "u", "pw").startswith("WRONGPASS")
    assert err(setuser, admin, "u", "<nothere") == (
        "Error in ACL SETUSER modifier '<nothere': The password you are trying to remove from "
        "the user does not exist")
    import hashlib
    h = hashlib.sha256(b"hashed").hexdigest()
    setuser(admin, "u", "#" + h)
    assert c.execute_command("AUTH", "u", "hashed") is True
    passwords = admin.execute_command("ACL", "GETUSER", "u")[3]
    assert h in passwords and hashlib.sha256(b"pw2").hexdigest() in passwords
    setuser(admin, "u", "!" + h)
    assert err(c.execute_command, "AUTH", "u", "hashed").startswith("WRONGPASS")
    assert err(setuser, admin, "u", "#xyz") == (
        "Error in ACL SETUSER modifier '#xyz': The password hash must be exactly 64 characters "
        "and contain only lowercase hexadecimal characters")
    setuser(admin, "u", "nopass")
    assert c.execute_command("AUTH", "u", "anything") is True
    assert "nopass" in admin.execute_command("ACL", "GETUSER", "u")[1]
    setuser(admin, "u", "resetpass")
    assert err(c.execute_command, "AUTH", "u", "anything").startswith("WRONGPASS")
    assert admin.execute_command("ACL", "GETUSER", "u")[3] == []
    assert err(c.execute_command, "AUTH", "nobody", "x").startswith("WRONGPASS")
    c.close()


def test_hello_auth(srv, admin):
    setuser(admin, "u", "on", ">pw", "+@all", "~*")
    c = srv.client(decode_responses=True)
    assert err(c.execute_command, "HELLO", "2", "AUTH", "u", "bad") == (
        "WRONGPASS invalid username-password pair or user is disabled.")
    hello = c.execute_command("HELLO", "2", "AUTH", "u", "pw", "SETNAME", "x")
    assert hello[hello.index("proto") + 1] == 2
    assert c.execute_command("ACL", "WHOAMI") == "u"
    assert "name=x " in c.execute_command("CLIENT", "INFO")
    assert " user=u " in c.execute_command("CLIENT", "INFO")
    c.close()


def test_requirepass_is_the_default_users_password(srv, admin):
    try:
        admin.config_set("requirepass", "secret")
        g = admin.execute_command("ACL", "GETUSER", "default")
        import hashlib
        assert g[3] == [hashlib.sha256(b"secret").hexdigest()]
        assert "nopass" not in g[1]
        c = srv.client(decode_responses=True)
        assert err(c.get, "k") == "Authentication required."
        assert c.execute_command("AUTH", "secret") is True
        assert c.execute_command("AUTH", "default", "secret") is True
        assert c.get("k") is None
        c.close()
        # The existing connections stay authenticated.
        assert admin.ping()
    finally:
        admin.config_set("requirepass", "")
    assert "nopass" in admin.execute_command("ACL", "GETUSER", "default")[1]
    assert srv.client().ping()


def test_reset_connection_returns_to_default_user(srv, admin):
    setuser(admin, "u", "on", ">pw", "+@all", "~*")
    c = login(srv, "u")
    assert c.execute_command("RESET") == "RESET"
    assert c.execute_command("ACL", "WHOAMI") == "default"
    c.close()


# ---------------------------------------------------------------- command rules


def test_command_rules(admin):
    setuser(admin, "u", "on", "nopass", "allkeys", "+@read", "-get", "+client|list")
    assert dry(admin, "u", "mget", "a") == "OK"
    assert dry(admin, "u", "get", "a") == "This user has no permissions to run the 'get' command"
    assert dry(admin, "u", "set", "a", "b") == (
        "This user has no permissions to run the 'set' command")
    assert dry(admin, "u", "client", "list") == "OK"
    assert dry(admin, "u", "client", "kill", "id", "1") == (
        "This user has no permissions to run the 'client|kill' command")
    # Single commands follow the categories in an order of Redis's (its hash table's).
    rules = admin.execute_command("ACL", "GETUSER", "u")[5].split()
    assert rules[:2] == ["-@all", "+@read"] and sorted(rules[2:]) == ["+client|list", "-get"]
    setuser(admin, "u", "+set")
    assert dry(admin, "u", "set", "a", "b") == "OK"
    setuser(admin, "u", "-@read")
    assert dry(admin, "u", "mget", "a") == (
        "This user has no permissions to run the 'mget' command")
    setuser(admin, "u", "+config", "-config|set")
    assert dry(admin, "u", "config", "get", "x") == "OK"
    assert dry(admin, "u", "config", "set", "x", "y") == (
        "This user has no permissions to run the 'config|set' command")
    setuser(admin, "u", "nocommands")
    assert dry(admin, "u", "ping") == "This user has no permissions to run the 'ping' command"
    setuser(admin, "u", "allcommands")
    assert dry(admin, "u", "flushall") == "OK"
    assert admin.execute_command("ACL", "GETUSER", "u")[5] == "+@all"
    setuser(admin, "u", "-@dangerous")
    assert admin.execute_command("ACL", "GETUSER", "u")[5] == "+@all -@dangerous"
    assert dry(admin, "u", "flushall") == (
        "This user has no permissions to run the 'flushall' command")
    # First argument of a command without subcommands (Redis still accepts it).
    setuser(admin, "u", "-select", "+select|0")
    assert dry(admin, "u", "select", "0") == "OK"
    assert dry(admin, "u", "select", "1") == (
        "This user has no permissions to run the 'select' command")


def test_command_rule_errors(admin):
    assert err(setuser, admin, "u", "+nosuch") == (
        "Error in ACL SETUSER modifier '+nosuch': Unknown command or category name in ACL")
    assert err(setuser, admin, "u", "+@nosuch") == (
        "Error in ACL SETUSER modifier '+@nosuch': Unknown command or category name in ACL")
    assert err(setuser, admin, "u", "+config|get|x") == (
        "Error in ACL SETUSER modifier '+config|get|x': Allowing first-arg of a subcommand is "
        "not supported")
    assert err(setuser, admin, "u", "+config|nosuch") == (
        "Error in ACL SETUSER modifier '+config|nosuch': Unknown command or category name in ACL")
    assert err(setuser, admin, "u", "bogus") == (
        "Error in ACL SETUSER modifier 'bogus': Syntax error")
    assert err(setuser, admin, "bad name") == (
        "Usernames can't contain spaces or null characters")
    # Nothing was created by the failed calls.
    assert admin.execute_command("ACL", "USERS") == ["default"]
    assert err(admin.execute_command, "ACL", "DELUSER", "default") == (
        "The 'default' user cannot be removed")
    assert err(admin.execute_command, "ACL", "DRYRUN", "nobody", "get", "x") == (
        "User 'nobody' not found")
    setuser(admin, "u")
    assert err(admin.execute_command, "ACL", "DRYRUN", "u", "nosuch") == (
        "Command 'nosuch' not found")
    assert err(admin.execute_command, "ACL", "DRYRUN", "u", "get") == (
        "wrong number of arguments for 'get' command")


def test_denied_command_reply(srv, admin):
    setuser(admin, "u", "on", ">pw", "~*", "+@all", "-flushall")
    c = login(srv, "u")
    assert err(c.flushall) == "this user has no permissions to run the 'flushall' command"
    with pytest.raises(redis.exceptions.NoPermissionError):
        c.flushall()
    assert c.set("k", "v")
    c.close()


# ---------------------------------------------------------------- keys


def test_key_patterns(srv, admin):
    setuser(admin, "u", "on", ">pw", "+@all", "~app:*", "%R~ro:*", "%W~wo:*", "%RW~rw:*")
    assert admin.execute_command("ACL", "GETUSER", "u")[7] == "~app:* %R~ro:* %W~wo:* ~rw:*"
    c = login(srv, "u")
    assert c.set("app:1", "v")
    assert c.get("app:1") == "v"
    assert err(c.get, "other") == (
        "this user has no permissions to access one of the keys used as arguments")
    admin.set("ro:1", "x")
    assert c.get("ro:1") == "x"
    assert err(c.set, "ro:1", "y").startswith("this user has no permissions to access")
    assert c.set("wo:1", "y")
    assert err(c.get, "wo:1").startswith("this user has no permissions to access")
    assert c.set("rw:1", "z") and c.get("rw:1") == "z"
    # The access each key spec declares: LMOVE reads+deletes its source, inserts its target.
    assert dry(admin, "u", "lmove", "app:l", "wo:l", "left", "right") == "OK"
    assert dry(admin, "u", "lmove", "ro:l", "wo:l", "left", "right") == (
        "This user has no permissions to access the 'ro:l' key")
    assert dry(admin, "u", "copy", "ro:1", "wo:2") == "OK"
    assert dry(admin, "u", "mset", "app:1", "v", "zz", "v") == (
        "This user has no permissions to access the 'zz' key")
    setuser(admin, "u", "resetkeys")
    assert admin.execute_command("ACL", "GETUSER", "u")[7] == ""
    assert err(setuser, admin, "u", "%X~x") == "Error in ACL SETUSER modifier '%X~x': Syntax error"
    assert dry(admin, "u", "get", "app:1") == (
        "This user has no permissions to access the 'app:1' key")
    setuser(admin, "u", "allkeys")
    assert dry(admin, "u", "get", "anything") == "OK"
    assert err(setuser, admin, "u", "~x") == (
        "Error in ACL SETUSER modifier '~x': Adding a pattern after the * pattern (or the "
        "'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start "
        "with an empty list of patterns")
    c.close()


def test_sort_by_and_get_need_full_read_access(srv, admin):
    setuser(admin, "u", "on", ">pw", "+@all", "~l", "~w_*")
    admin.rpush("l", 2, 1)
    c = login(srv, "u")
    assert c.sort("l") == ["1", "2"]
    assert c.sort("l", by="nosort") == ["2", "1"]  # a constant BY reads no key
    assert err(lambda: c.sort("l", by="w_*")) == (
        "BY option of SORT denied due to insufficient ACL permissions.")
    assert err(lambda: c.sort("l", get="w_*")) == (
        "GET option of SORT denied due to insufficient ACL permissions.")
    setuser(admin, "u", "%R~*")
    admin.mset({"w_1": 2, "w_2": 1})
    assert c.sort("l", by="w_*", get="#") == ["2", "1"]
    c.close()


# ---------------------------------------------------------------- channels


def test_channel_patterns(srv, admin):
    setuser(admin, "u", "on", ">pw", "+@all", "allkeys", "&news.*")
    assert admin.execute_command("ACL", "GETUSER", "u")[9] == "&news.*"
    c = login(srv, "u")
    assert c.publish("news.1", "m") == 0
    assert err(c.publish, "sport", "m") == (
        "this user has no permissions to access one of the channels used as arguments")
    assert dry(admin, "u", "subscribe", "news.a", "sport") == (
        "This user has no permissions to access the 'sport' channel")
    # A PSUBSCRIBE pattern must be one of the user's patterns, literally.
    assert dry(admin, "u", "psubscribe", "news.*") == "OK"
    assert dry(admin, "u", "psubscribe", "news.1*") == (
        "This user has no permissions to access the 'news.1*' channel")
    setuser(admin, "u", "resetchannels")
    assert err(c.publish, "news.1", "m").startswith("this user has no permissions")
    setuser(admin, "u", "allchannels")
    assert c.publish("sport", "m") == 0
    assert err(setuser, admin, "u", "&x") == (
        "Error in ACL SETUSER modifier '&x': Adding a pattern after the * pattern (or the "
        "'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to "
        "start with an empty list of channels")
    c.close()


def test_subscriber_disconnected_when_its_channels_are_revoked(srv, admin):
    setuser(admin, "u", "on", ">pw", "+@all", "allkeys", "&news")
    c = login(srv, "u")
    p = c.pubsub()
    p.subscribe("news")
    assert p.get_message(timeout=5)["type"] == "subscribe"
    setuser(admin, "u", "resetchannels", "&other")

    def gone():
        try:
            p.get_message(timeout=0.2)
            return False
        except (redis.exceptions.ConnectionError, OSError):
            return True
    assert poll(gone)
    c.close()


# ---------------------------------------------------------------- selectors, reset


def test_selectors(srv, admin):
    setuser(admin, "u", "on", ">pw", "+get", "~a*", "(+set ~b*)", "(+del %W~c*)")
    g = admin.execute_command("ACL", "GETUSER", "u")
    assert g[11] == [["commands", "-@all +set", "keys", "~b*", "channels", ""],
                     ["commands", "-@all +del", "keys", "%W~c*", "channels", ""]]
    assert admin.execute_command("ACL", "LIST")[1].endswith(
        "~a* resetchannels -@all +get (~b* resetchannels -@all +set) "
        "(%W~c* resetchannels -@all +del)")
    c = login(srv, "u")
    assert c.get("a1") is None
    assert c.set("b1", "v")
    assert c.delete("c1") == 0
    assert err(c.get, "b1").startswith("this user has no permissions to access one of the keys")
    assert err(c.set, "a1", "v").startswith("this user has no permissions to access one of the keys")
    assert err(c.lpush, "a1", "v") == "this user has no permissions to run the 'lpush' command"
    setuser(admin, "u", "clearselectors")
    assert err(c.set, "b1", "v") == "this user has no permissions to run the 'set' command"
    assert err(setuser, admin, "u", "(+get", "~x") == (
        "Unmatched parenthesis in acl selector starting at '(+get'.")
    c.close()


def test_reset_rule(admin):
    setuser(admin, "u", "on", ">pw", "~*", "&*", "+@all", "(+get ~x)")
    setuser(admin, "u", "reset")
    assert admin.execute_command("ACL", "LIST")[1] == (
        "user u off sanitize-payload resetchannels -@all")


def test_deluser_disconnects_its_clients(srv, admin):
    setuser(admin, "u", "on", ">pw", "+@all", "~*")
    c = login(srv, "u")
    cid = c.client_id()
    assert admin.execute_command("ACL", "DELUSER", "u", "nobody") == 1
    assert poll(lambda: f"id={cid} " not in admin.execute_command("CLIENT", "LIST"))
    c.close()


def test_client_kill_user(srv, admin):
    setuser(admin, "u", "on", ">pw", "+@all", "~*")
    c = login(srv, "u")
    assert " user=u " in admin.execute_command("CLIENT", "LIST")
    assert admin.execute_command("CLIENT", "KILL", "USER", "u") == 1
    assert err(admin.execute_command, "CLIENT", "KILL", "USER", "nobody") == (
        "No such user 'nobody'")
    c.close()


# ---------------------------------------------------------------- scripts, MULTI


def test_scripts_run_with_the_callers_permissions(srv, admin):
    setuser(admin, "u", "on", ">pw", "+@scripting", "+get", "+set", "~x*")
    c = login(srv, "u")
    assert c.eval("return redis.call('set', 'x1', 'v')", 0) == "OK"
    e = err(c.eval, "return redis.call('set', 'y', 'v')", 0)
    assert e.startswith("The user executing the script can't access at least one of the keys "
                        "mentioned in the command arguments")
    e = err(c.eval, "return redis.call('del', 'x1')", 0)
    assert e.startswith("The user executing the script can't run this command or subcommand")
    assert c.eval("return redis.acl_check_cmd('set', 'x2', 'v')", 0) == 1
    assert c.eval("return redis.acl_check_cmd('set', 'y', 'v')", 0) is None
    assert c.eval("return redis.acl_check_cmd('hset', 'x', 'f', 'v')", 0) is None
    log = admin.execute_command("ACL", "LOG")
    assert (log[0][3], log[0][5], log[0][7], log[0][9]) == ("command", "lua", "del", "u")
    assert (log[1][3], log[1][5], log[1][7], log[1][9]) == ("key", "lua", "y", "u")
    c.close()


def test_multi_denied_at_queue_time_and_at_exec(srv, admin):
    setuser(admin, "u", "on", ">pw", "+@all", "-flushall", "~*")
    c = login(srv, "u")
    p = c.pipeline(transaction=True)
    p.set("k", "v")
    p.flushall()
    with pytest.raises(redis.exceptions.RedisError):
        p.execute()
    assert admin.execute_command("ACL", "LOG", "1")[0][5] == "multi"
    # Rules changed between queueing and EXEC: that command fails, the others run.
    raw = srv.client(decode_responses=True).connection_pool.get_connection("_")

    def call(*a):
        raw.send_command(*a)
        return raw.read_response()
    assert call("AUTH", "u", "pw") == "OK"
    assert call("MULTI") == "OK"
    assert call("SET", "a", "1") == "QUEUED"
    assert call("GET", "a") == "QUEUED"
    setuser(admin, "u", "-get")
    res = call("EXEC")
    assert res[0] == "OK"
    assert isinstance(res[1], redis.exceptions.ResponseError)
    assert str(res[1]) == (
        "ACLs rules changed between the moment the transaction was accumulated and the EXEC "
        "call. This command is no longer allowed for the following reason: no permission to "
        "execute the command or subcommand")
    raw.disconnect()
    c.close()


# ---------------------------------------------------------------- ACL LOG, CAT, GENPASS, HELP


def test_acl_log(srv, admin):
    setuser(admin, "u", "on", ">pw", "+@all", "-flushall", "~k*", "&c")
    c = login(srv, "u")
    for _ in range(3):
        err(c.flushall)
    err(c.get, "other")
    err(c.publish, "nope", "m")
    bad = srv.client(decode_responses=True)
    err(bad.execute_command, "AUTH", "u", "wrong")
    log = admin.execute_command("ACL", "LOG")
    assert len(log) == 4
    keys = ["count", "reason", "context", "object", "username", "age-seconds", "client-info"]
    for e in log:
        assert e[0::2] == keys
    entries = [dict(zip(e[0::2], e[1::2])) for e in log]
    assert [(e["reason"], e["object"], e["username"], e["context"]) for e in entries] == [
        ("auth", "AUTH", "u", "toplevel"), ("channel", "nope", "u", "toplevel"),
        ("key", "other", "u", "toplevel"), ("command", "flushall", "u", "toplevel")]
    assert entries[3]["count"] == 3
    assert float(entries[0]["age-seconds"]) < 60
    assert "user=u" in entries[1]["client-info"] and "cmd=" in entries[1]["client-info"]
    assert len(admin.execute_command("ACL", "LOG", "2")) == 2
    assert admin.execute_command("ACL", "LOG", "RESET") == "OK"
    assert admin.execute_command("ACL", "LOG") == []
    assert err(admin.execute_command, "ACL", "LOG", "x") == (
        "value is not an integer or out of range")
    bad.close()
    c.close()


def test_acl_cat_genpass_help(admin):
    cats = admin.execute_command("ACL", "CAT")
    assert cats == ["keyspace", "read", "write", "set", "sortedset", "list", "hash", "string",
                    "bitmap", "hyperloglog", "geo", "stream", "pubsub", "admin", "fast", "slow",
                    "blocking", "dangerous", "connection", "transaction", "scripting"]
    read = set(admin.execute_command("ACL", "CAT", "read"))
    assert {"get", "mget", "hget", "config|get"} - read == {"config|get"}
    assert "set" not in read
    assert "client|kill" in admin.execute_command("ACL", "CAT", "dangerous")
    assert err(admin.execute_command, "ACL", "CAT", "nosuch") == "Unknown category 'nosuch'"
    # The categories are COMMAND INFO's.
    info = admin.execute_command("COMMAND", "INFO", "get")
    assert len(admin.execute_command("ACL", "GENPASS")) == 64
    assert len(admin.execute_command("ACL", "GENPASS", "5")) == 2
    assert err(admin.execute_command, "ACL", "GENPASS", "0") == (
        "ACL GENPASS argument must be the number of bits for the output password, a positive "
        "number up to 4096")
    assert info
    h = admin.execute_command("ACL", "HELP")
    assert h[0] == "ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    assert "DRYRUN <username> <command> [<arg> ...]" in h
    assert err(admin.execute_command, "ACL", "NOSUCH") == (
        "unknown subcommand 'NOSUCH'. Try ACL HELP.")


def test_load_save_without_aclfile(admin):
    e = err(admin.execute_command, "ACL", "SAVE")
    assert e.startswith("This Redis instance is not configured to use an ACL file.")
    assert err(admin.execute_command, "ACL", "LOAD") == e


# ---------------------------------------------------------------- ACL file, configured users


def test_aclfile_round_trip_across_restart(tmp_path):
    path = str(tmp_path / "users.acl")
    with open(path, "w") as f:
        f.write("user default on nopass ~* &* +@all\n")
    s = Server(dir=str(tmp_path), acl={"aclfile": path})
    try:
        c = s.client(decode_responses=True)
        setuser(c, "app", "on", ">apppw", "~app:*", "+@all", "-@dangerous")
        setuser(c, "mon", "on", ">monpw", "+@read", "+info", "allkeys")
        app_line = [l for l in c.execute_command("ACL", "LIST") if l.startswith("user app ")][0]
        assert c.execute_command("ACL", "SAVE") == "OK"
        with open(path) as f:
            saved = f.read().splitlines()
        assert app_line in saved
        assert sorted(l.split()[1] for l in saved) == ["app", "default", "mon"]
        c.close()
        s.terminate(5)
        s = Server(dir=str(tmp_path), acl={"aclfile": path})
        c = s.client(decode_responses=True)
        assert sorted(c.execute_command("ACL", "USERS")) == ["app", "default", "mon"]
        assert app_line in c.execute_command("ACL", "LIST")
        app = login(s, "app", "apppw")
        app_id = app.client_id()
        assert app.set("app:1", "v")
        assert err(app.set, "x", "v").startswith("this user has no permissions")
        # Edit the file and ACL LOAD: mon is gone, app changed; app's clients are dropped.
        with open(path, "w") as f:
            f.write("user default on nopass ~* &* +@all\n"
                    "user app on >apppw ~app:* ~more:* +@all\n")
        assert c.execute_command("ACL", "LOAD") == "OK"
        assert sorted(c.execute_command("ACL", "USERS")) == ["app", "default"]
        assert poll(lambda: f"id={app_id} " not in c.execute_command("CLIENT", "LIST"))
        app = login(s, "app", "apppw")
        assert app.set("more:1", "v")
        # A bad file changes nothing and says why.
        with open(path, "w") as f:
            f.write("user default on nopass ~* &* +@all\nuser bad on +nosuch\n")
        e = err(c.execute_command, "ACL", "LOAD")
        assert e == (f"{path}:2: Error in applying operation '+nosuch': Unknown command or "
                     "category name in ACL. WARNING: ACL errors detected, no change to the "
                     "previously active ACL rules was performed")
        assert sorted(c.execute_command("ACL", "USERS")) == ["app", "default"]
        app.close()
        c.close()
    finally:
        s.stop()


def test_aclfile_with_errors_stops_the_start(tmp_path):
    path = str(tmp_path / "users.acl")
    with open(path, "w") as f:
        f.write("user x on +nosuch\n")
    with pytest.raises(RuntimeError):
        Server(dir=str(tmp_path), acl={"aclfile": path})


def test_users_from_the_configuration(tmp_path):
    s = Server(dir=str(tmp_path), acl={"users": ["app on >apppw ~app:* +@all -@dangerous",
                              "default on >adminpw ~* &* +@all"]})
    try:
        c = s.client(decode_responses=True)
        assert err(c.get, "k") == "Authentication required."
        assert c.execute_command("AUTH", "adminpw") is True
        assert sorted(c.execute_command("ACL", "USERS")) == ["app", "default"]
        app = login(s, "app", "apppw")
        assert app.set("app:1", "v")
        assert err(app.flushall).startswith("this user has no permissions to run")
        app.close()
        c.close()
    finally:
        s.stop()
