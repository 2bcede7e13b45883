#!/usr/bin/env python3
"""compose_check.py - the properties of the Docker stack, read from its files.

    compose_check.py RESOLVED.yml COMPOSE.yml Dockerfile .dockerignore CONTEXT
    compose_check.py --selftest RESOLVED.yml COMPOSE.yml Dockerfile .dockerignore CONTEXT

RESOLVED.yml is `docker-compose config` of COMPOSE.yml (interpolated, anchors
and merges resolved; every profile's services, as Debian's docker-compose v1
prints them); COMPOSE.yml is the file as written (for what must hold of the
text: no literal passwords, no mysql_native_password). CONTEXT is the build
context (the repository's top), where the files that services mount are
read too (the replica profile's set-up script). Prints one line per
property, "PASS name" or "FAIL name: why".

The stack: the default profile is mysql (the primary), migrate (one-shot,
the only holder of the admin DSN) and cqrsd (the daemon). The `replica`
profile adds mysql-replica, replica-setup (one-shot: replication account,
CHANGE REPLICATION SOURCE TO, START REPLICA) and cqrsd-with-replica (a
second daemon, with CQRSD_REPLICA_DSN). "The daemons" below are cqrsd and
cqrsd-with-replica.

--selftest breaks each property in a copy of the inputs, one at a time, and
prints "PASS selftest name/mutation" when the property's check then fails
(so every check can fail), else "FAIL ...". Needs PyYAML. See helper() for
the small queries the shell test asks.
"""
import copy
import os
import re
import sys
from urllib.parse import urlsplit, parse_qs

import yaml

TLS_MODES = {"required", "verify-ca", "verify-identity"}
DAEMONS = ("cqrsd", "cqrsd-with-replica")
DEFAULT_SERVICES = ["cqrsd", "migrate", "mysql"]
REPLICA_SERVICES = ["cqrsd-with-replica", "mysql-replica", "replica-setup"]
SECRET_DEFAULT = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*:-[^}]+\}$")


def services(cfg):
    return (cfg or {}).get("services") or {}


def env_of(svc):
    """A service's environment as a dict (compose allows a list of K=V)."""
    env = (svc or {}).get("environment") or {}
    if isinstance(env, list):
        out = {}
        for item in env:
            k, _, v = str(item).partition("=")
            out[k] = v
        return out
    return {k: ("" if v is None else str(v)) for k, v in env.items()}


def dsns(value):
    """The mysql:// DSNs in an option's value (replica lists are comma-separated)."""
    return [p.strip() for p in str(value).split(",") if p.strip().startswith("mysql://")]


def dsn_user_password(dsn):
    """USER and PASSWORD of a DSN as written (no percent-decoding needed here)."""
    rest = dsn[len("mysql://"):]
    slash = rest.find("/")
    auth = rest[:slash] if slash >= 0 else rest
    if "@" not in auth:
        return "", None
    userinfo = auth.rsplit("@", 1)[0]
    user, sep, password = userinfo.partition(":")
    return user, (password if sep else None)


def ssl_mode(dsn):
    q = parse_qs(urlsplit(dsn).query)
    modes = q.get("ssl-mode") or []
    return modes[-1].lower() if modes else None


def command_list(svc):
    cmd = (svc or {}).get("command") or []
    return cmd.split() if isinstance(cmd, str) else [str(c) for c in cmd]


def dsn_host_db(dsn):
    """HOST and DATABASE of a DSN."""
    u = urlsplit(dsn)
    return u.hostname, u.path.lstrip("/")


def mysqld_options(svc):
    """A MySQL service's command as {option: value}: names with '-' (mysqld
    takes '_' alike), lower case; a flag without a value is "ON"."""
    out = {}
    for c in command_list(svc):
        if not c.startswith("--"):
            continue
        name, eq, val = c[2:].partition("=")
        out[name.replace("_", "-").lower()] = val if eq else "ON"
    return out


def mounted_files(svc, context):
    """(path in CONTEXT, path in the container) of a service's bind mounts of
    files under CONTEXT: short ("SRC:DST[:MODE]", as v1 prints) or long syntax."""
    out = []
    for v in (svc or {}).get("volumes") or []:
        if isinstance(v, dict):
            src, dst = v.get("source"), v.get("target")
        else:
            parts = str(v).split(":")
            src, dst = (parts[0], parts[1]) if len(parts) >= 2 else (None, None)
        if not src or not src.startswith(("/", ".")):
            continue  # a named volume
        rel = os.path.relpath(os.path.normpath(os.path.join(context, src)), context)
        if not rel.startswith(".."):
            out.append((rel, dst))
    return out


def heredoc_sql(script, env):
    """The SQL of a shell script's <<SQL here-documents, its $VAR and ${VAR}
    replaced by ENV's values (a name ENV lacks: by 'x'), each statement ending
    in ';'. The script's own checks keep those values to [A-Za-z0-9._~-]."""
    out, body = [], None
    for line in script.splitlines():
        if body is None:
            if re.search(r"<<-?\s*SQL\b", line):
                body = []
            continue
        if line.strip() == "SQL":
            out.append("\n".join(body))
            body = None
            continue
        body.append(line)
    sub = lambda m: env.get(m.group(1) or m.group(2), "x")
    return "\n".join(re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)", sub, b)
                     for b in out)


def replica_script(d):
    """The text of the script replica-setup runs (its command names the path
    it is mounted at), "" when there is none."""
    svc = services(d["cfg"]).get("replica-setup") or {}
    cmd = command_list(svc)
    for rel, dst in mounted_files(svc, d["context"]):
        if dst in cmd:
            return d["mounted"].get(rel, "")
    return ""


def dockerfile_instructions(text):
    """(INSTRUCTION, arguments) with continuation lines joined, comments dropped."""
    out, cur = [], ""
    for line in text.splitlines():
        s = line.strip()
        if not cur and (not s or s.startswith("#")):
            continue
        if cur and s.startswith("#"):
            continue
        if s.endswith("\\"):
            cur += s[:-1] + " "
            continue
        cur += s
        word, _, rest = cur.partition(" ")
        out.append((word.upper(), rest.strip()))
        cur = ""
    return out


def ignore_patterns(text):
    pats = []
    for line in text.splitlines():
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        neg = s.startswith("!")
        s = s[1:].strip() if neg else s
        s = os.path.normpath(s.lstrip("/")) if s not in ("", "/") else "."
        pats.append((neg, s))
    return pats


def pattern_regex(pat):
    """Docker's .dockerignore matching (Go filepath.Match plus '**')."""
    rx, i = "", 0
    while i < len(pat):
        c = pat[i]
        if pat.startswith("**/", i):
            rx += "(?:.*/)?"
            i += 3
            continue
        if pat.startswith("**", i):
            rx += ".*"
            i += 2
            continue
        if c == "*":
            rx += "[^/]*"
        elif c == "?":
            rx += "[^/]"
        else:
            rx += re.escape(c)
        i += 1
    return re.compile("^" + rx + "$")


def ignored(path, pats):
    """Whether PATH (relative to the context) is left out of the build context:
    the last matching pattern wins; a pattern that matches a parent folder
    leaves out everything below it."""
    parts = path.split("/")
    prefixes = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
    result = False
    for neg, pat in pats:
        rx = pattern_regex(pat)
        if any(rx.match(p) for p in prefixes):
            result = not neg
    return result


# ---------------------------------------------------------------- the checks

def chk_mysql_image(d):
    img = services(d["cfg"]).get("mysql", {}).get("image")
    return img == "mysql:8.4", f"mysql's image is {img!r}, not 'mysql:8.4'"


def chk_no_native_password(d):
    texts = [("docker-compose.yml", d["compose_text"]), ("Dockerfile", d["dockerfile_text"]),
             ("the resolved config", yaml.safe_dump(d["cfg"]))] + sorted(d["mounted"].items())
    where = [name for name, text in texts if "mysql_native_password" in text.lower()]
    return not where, "mysql_native_password appears in " + ", ".join(where)


def chk_mysql_command(d):
    given = command_list(services(d["cfg"]).get("mysql"))
    cmd = [c.replace("_", "-").lower() for c in given]
    removed = [g for g, c in zip(given, cmd) if c.startswith("--default-authentication-plugin")]
    if removed:
        return False, f"MySQL 8.4 has no {removed[0]} (the server does not start)"
    want = {"--character-set-server=utf8mb4", "--collation-server=utf8mb4-unicode-ci"}
    missing = sorted(want - set(cmd))
    return not missing, "mysql's command lacks " + " ".join(missing)


def chk_mysql_healthcheck(d):
    hc = services(d["cfg"]).get("mysql", {}).get("healthcheck") or {}
    test = hc.get("test") or []
    ok = bool(test) and not hc.get("disable") and test[0] != "NONE"
    return ok, f"mysql has no health check ({hc!r}); migrate waits for service_healthy"


def chk_cqrsd_no_admin(d):
    """Neither daemon holds an admin DSN, root, the root password (of either
    server) or the replication account's password."""
    svcs = services(d["cfg"])
    secret_pw = {env_of(svcs.get(m)).get("MYSQL_ROOT_PASSWORD") for m in ("mysql", "mysql-replica")}
    secret_pw |= {env_of(svcs.get("replica-setup")).get(k) for k in ("ROOT_PASSWORD", "REPL_PASSWORD")}
    secret_pw.discard(None)
    repl_user = env_of(svcs.get("replica-setup")).get("REPL_USER")
    bad = []
    for name in DAEMONS:
        if name not in svcs:
            bad.append(f"no service {name}")
            continue
        env = env_of(svcs[name])
        bad += [f"{name}.{k}" for k in env
                if "ADMIN" in k.upper() or "ROOT" in k.upper() or "REPL_" in k.upper()]
        for k, v in env.items():
            for dsn in dsns(v):
                user, pw = dsn_user_password(dsn)
                if user in ("root", repl_user):
                    bad.append(f"{name}.{k} logs in as {user}")
                elif pw in secret_pw:
                    bad.append(f"{name}.{k} carries a root or replication password")
        if "secrets" in svcs[name]:
            bad.append(f"{name}'s secrets (a daemon needs none)")
    return not bad, "the daemons' environments have " + ", ".join(bad)


def chk_cqrsd_dsns(d):
    """cqrsd: the write and read DSNs, as migrate's (migrate creates the
    accounts they log in with); cqrsd-with-replica: the same and a replica DSN."""
    svcs = services(d["cfg"])
    menv = env_of(svcs.get("migrate"))
    want = {"cqrsd": ["CQRSD_READ_DSN", "CQRSD_WRITE_DSN"],
            "cqrsd-with-replica": ["CQRSD_READ_DSN", "CQRSD_REPLICA_DSN", "CQRSD_WRITE_DSN"]}
    for name, keys in want.items():
        env = env_of(svcs.get(name))
        dsn_keys = sorted(k for k in env if k.endswith("_DSN") or k.endswith("_DSNS"))
        if dsn_keys != keys:
            return False, f"{name}'s DSNs are {dsn_keys}, want {keys}"
        for k in ("CQRSD_READ_DSN", "CQRSD_WRITE_DSN"):
            if menv.get(k) != env[k]:
                return False, f"migrate's {k} differs from {name}'s"
    return True, ""


def chk_migrate_admin(d):
    env = env_of(services(d["cfg"]).get("migrate"))
    return bool(env.get("CQRSD_ADMIN_DSN")), "migrate has no CQRSD_ADMIN_DSN"


def chk_dsn_tls(d):
    seen, bad = 0, []
    for name, svc in services(d["cfg"]).items():
        for k, v in env_of(svc).items():
            if not re.match(r"^CQRSD_.*_DSNS?$", k):
                continue
            for dsn in dsns(v) or [v]:
                seen += 1
                mode = ssl_mode(dsn) if dsn.startswith("mysql://") else None
                if mode not in TLS_MODES:
                    bad.append(f"{name}.{k} ssl-mode={mode}")
    if not seen:
        return False, "no CQRSD_*_DSN in the stack"
    return not bad, "without TLS: " + ", ".join(bad)


def chk_literal_secrets(d):
    """In the file as written, each password is ${VAR:-default}: settable, and
    `docker compose up` works with nothing set."""
    raw = yaml.safe_load(d["compose_text"]) or {}
    bad = []
    for name, svc in services(raw).items():
        for k, v in env_of(svc).items():
            if k.endswith("PASSWORD") and not SECRET_DEFAULT.match(v):
                bad.append(f"{name}.{k}")
            for dsn in dsns(v):
                _, pw = dsn_user_password(dsn)
                if pw and not SECRET_DEFAULT.match(pw):
                    bad.append(f"{name}.{k}'s password")
    return not bad, "literal passwords (want ${VAR:-default}): " + ", ".join(bad)


def chk_one_image(d):
    svcs = services(d["cfg"])
    m = svcs.get("migrate") or {}
    for name in DAEMONS:
        c = svcs.get(name) or {}
        if not m.get("image") or m.get("image") != c.get("image"):
            return False, f"migrate's image {m.get('image')!r} and {name}'s {c.get('image')!r} " \
                          "are not one named image"
    builds = [n for n, s in svcs.items() if "build" in (s or {})]
    return builds == ["migrate"], f"services with a build section: {builds}, want ['migrate'] " \
                                  "(the daemons depend on migrate, so the image is built first)"


def chk_cqrsd_restart(d):
    bad = []
    for name in DAEMONS:
        r = str((services(d["cfg"]).get(name) or {}).get("restart", "no"))
        if not (r in ("always", "unless-stopped") or r.startswith("on-failure")):
            bad.append(f"{name}'s restart is {r!r}")
    return not bad, ", ".join(bad)


def chk_migrate_restart(d):
    r = services(d["cfg"]).get("migrate", {}).get("restart")
    return r == "no", f"migrate's restart is {r!r}, want \"no\" (one-shot)"


def chk_depends(d):
    svcs = services(d["cfg"])

    def cond(svc, dep):
        deps = (svcs.get(svc) or {}).get("depends_on") or {}
        if isinstance(deps, list):
            return "service_started" if dep in deps else None
        return (deps.get(dep) or {}).get("condition")

    got = (cond("cqrsd", "migrate"), cond("migrate", "mysql"))
    want = ("service_completed_successfully", "service_healthy")
    return got == want, f"cqrsd->migrate, migrate->mysql conditions are {got}, want {want}"


def chk_healthcheck(d):
    hcs = [a for w, a in dockerfile_instructions(d["dockerfile_text"]) if w == "HEALTHCHECK"]
    if not hcs:
        return False, "the Dockerfile has no HEALTHCHECK"
    hc = hcs[-1]
    if "8080" in hc:
        return False, "the HEALTHCHECK names port 8080, not CQRSD_LISTEN's"
    return "CQRSD_LISTEN" in hc, "the HEALTHCHECK does not read CQRSD_LISTEN"


def chk_runtime_libmariadb3(d):
    ins = dockerfile_instructions(d["dockerfile_text"])
    froms = [i for i, (w, _) in enumerate(ins) if w == "FROM"]
    final = ins[froms[-1]:] if froms else ins
    installed = set()
    for w, a in final:
        if w != "RUN":
            continue
        for step in re.split(r"&&|;|\|\|", a):
            words = step.split()
            if "apt-get" in words and "install" in words:
                installed.update(x for x in words if not x.startswith("-"))
    return "libmariadb3" in installed, \
        "the runtime stage does not apt-get install libmariadb3 (its caching_sha2_password plugin)"


def chk_dockerignore_lists(d):
    pats = ignore_patterns(d["dockerignore_text"])
    samples = ["build/cqrsd", "build/asan/cqrsd", "var/db/data/ibdata1", "var/db/s.sock",
               "s.sock", ".git/HEAD", ".git", "node_modules/x/package.json",
               "tests/sqlcheck/node_modules/x/index.js", "tests/x.sock"]
    kept = [s for s in samples if not ignored(s, pats)]
    return not kept, "the build context would hold " + ", ".join(kept)


def chk_dockerignore_keeps_sources(d):
    pats = ignore_patterns(d["dockerignore_text"])
    lost, copied = [], 0
    for w, a in dockerfile_instructions(d["dockerfile_text"]):
        if w not in ("COPY", "ADD"):
            continue
        args = [x for x in a.split() if not x.startswith("--")]
        if re.search(r"--from=", a) or len(args) < 2:
            continue
        for src in args[:-1]:
            top = os.path.join(d["context"], src)
            paths = [src] if os.path.isfile(top) else [
                os.path.relpath(os.path.join(dp, f), d["context"])
                for dp, _, fs in os.walk(top) for f in fs]
            if not paths:
                lost.append(f"{src} (not in the context)")
            for p in paths:
                copied += 1
                if ignored(p, pats):
                    lost.append(p)
    if not copied:
        return False, "the Dockerfile copies nothing from the context"
    return not lost, "ignored but copied by the Dockerfile: " + ", ".join(lost[:5])


# ---------------------------------------------------------------- the replica profile

# statements and options MySQL 8.4 removed (8.0.22-8.0.26 renamed them)
REMOVED_IN_8_4 = re.compile(
    r"\bCHANGE\s+MASTER\b|\b(START|STOP|RESET)\s+SLAVE\b|\bSHOW\s+(SLAVE|MASTER)\s+STATUS\b"
    r"|\bRESET\s+MASTER\b|\bMASTER_[A-Z_]+\s*=|\bmysql_native_password\b", re.I)


def chk_profiles(d):
    """`docker compose up` starts what it started before; the replica's
    services start with `--profile replica` only."""
    svcs = services(d["cfg"])
    default = sorted(n for n, v in svcs.items() if not (v or {}).get("profiles"))
    if default != DEFAULT_SERVICES:
        return False, f"the services without a profile are {default}, want {DEFAULT_SERVICES}"
    bad = [f"{n}: {(svcs.get(n) or {}).get('profiles')}" for n in REPLICA_SERVICES
           if n not in svcs or (svcs[n] or {}).get("profiles") != ["replica"]]
    return not bad, "want profiles ['replica'] on " + ", ".join(bad)


def chk_replica_images(d):
    svcs = services(d["cfg"])
    got = {n: (svcs.get(n) or {}).get("image") for n in ("mysql-replica", "replica-setup")}
    return all(v == "mysql:8.4" for v in got.values()), f"images {got}, want mysql:8.4 " \
        "(the replica like the primary; the set-up for the same version's client)"


def chk_gtid_settings(d):
    """Both servers: GTIDs on and enforced, distinct explicit server ids, the
    same character set and collation; the primary's binary log on and
    row-based (MySQL 8.4's defaults: not turned off, no other format); the
    replica read-only."""
    svcs = services(d["cfg"])
    p, r = mysqld_options(svcs.get("mysql")), mysqld_options(svcs.get("mysql-replica"))
    bad = []
    for name, o in (("mysql", p), ("mysql-replica", r)):
        for opt in ("gtid-mode", "enforce-gtid-consistency"):
            if o.get(opt, "").upper() not in ("ON", "1", "TRUE"):
                bad.append(f"{name} lacks --{opt}=ON")
        if not o.get("server-id", "").isdigit() or o.get("server-id") == "0":
            bad.append(f"{name} has no --server-id (other than 0)")
    if p.get("server-id") == r.get("server-id"):
        bad.append("the two servers have one server id")
    if any(k in p for k in ("skip-log-bin", "disable-log-bin")) or \
            p.get("log-bin", "ON").upper() in ("OFF", "0"):
        bad.append("the primary's binary log is off")
    if p.get("binlog-format", "ROW").upper() != "ROW":
        bad.append(f"the primary's binlog format is {p['binlog-format']}, not ROW")
    for opt in ("character-set-server", "collation-server"):
        if r.get(opt) != p.get(opt):
            bad.append(f"--{opt}: mysql-replica has {r.get(opt)}, mysql {p.get(opt)}")
    if r.get("read-only", "OFF").upper() not in ("ON", "1") and \
            r.get("super-read-only", "OFF").upper() not in ("ON", "1"):
        bad.append("mysql-replica is not --read-only=ON")
    return not bad, "; ".join(bad)


def chk_replica_healthcheck(d):
    hc = (services(d["cfg"]).get("mysql-replica") or {}).get("healthcheck") or {}
    test = hc.get("test") or []
    ok = bool(test) and not hc.get("disable") and test[0] != "NONE"
    return ok, "mysql-replica has no health check; replica-setup waits for service_healthy"


def chk_replica_depends(d):
    """replica-setup runs once both servers are healthy and migrate has
    finished (so its wait covers the schema), and the daemon that reads the
    replica starts after it."""
    svcs = services(d["cfg"])

    def cond(svc, dep):
        deps = (svcs.get(svc) or {}).get("depends_on") or {}
        if isinstance(deps, list):
            return "service_started" if dep in deps else None
        return (deps.get(dep) or {}).get("condition")

    want = {("replica-setup", "mysql"): "service_healthy",
            ("replica-setup", "mysql-replica"): "service_healthy",
            ("replica-setup", "migrate"): "service_completed_successfully",
            ("cqrsd-with-replica", "migrate"): "service_completed_successfully",
            ("cqrsd-with-replica", "replica-setup"): "service_completed_successfully"}
    bad = [f"{a}->{b} is {cond(a, b)}, want {c}" for (a, b), c in want.items() if cond(a, b) != c]
    r = (svcs.get("replica-setup") or {}).get("restart")
    if r != "no":
        bad.append(f"replica-setup's restart is {r!r}, want \"no\" (one-shot)")
    return not bad, "; ".join(bad)


def chk_replica_setup(d):
    """replica-setup runs a script from the context whose SQL creates the
    replication account with the default authentication over TLS, and points
    the replica at the primary with GTID auto-positioning over TLS, in MySQL
    8.4's words; its hosts are the stack's two servers."""
    svc = services(d["cfg"]).get("replica-setup") or {}
    env = env_of(svc)
    script = replica_script(d)
    if not script:
        return False, "replica-setup runs no script mounted from the build context"
    sql = heredoc_sql(script, env)
    flat = re.sub(r"\s+", " ", sql)
    bad = []
    if env.get("PRIMARY_HOST") != "mysql" or env.get("REPLICA_HOST") != "mysql-replica":
        bad.append(f"hosts {env.get('PRIMARY_HOST')!r} -> {env.get('REPLICA_HOST')!r}, "
                   "want 'mysql' -> 'mysql-replica'")
    want = [
        (r"CREATE USER IF NOT EXISTS '[^']+'@'%' IDENTIFIED BY '[^']+' REQUIRE SSL",
         "CREATE USER ... IDENTIFIED BY ... REQUIRE SSL (the default plugin, TLS only)"),
        (r"GRANT REPLICATION SLAVE ON \*\.\* TO", "GRANT REPLICATION SLAVE"),
        (r"CHANGE REPLICATION SOURCE TO [^;]*SOURCE_HOST = 'mysql'", "SOURCE_HOST = 'mysql'"),
        (r"CHANGE REPLICATION SOURCE TO [^;]*SOURCE_AUTO_POSITION = 1", "SOURCE_AUTO_POSITION = 1"),
        (r"CHANGE REPLICATION SOURCE TO [^;]*SOURCE_SSL = 1", "SOURCE_SSL = 1"),
        (r"CHANGE REPLICATION SOURCE TO [^;]*; START REPLICA;", "START REPLICA after the CHANGE"),
    ]
    bad += [what for rx, what in want if not re.search(rx, flat, re.I)]
    if re.search(r"IDENTIFIED WITH", flat, re.I):
        bad.append("an account names its authentication plugin (want the server's default)")
    if re.search(r"SOURCE_SSL = 0|GET_SOURCE_PUBLIC_KEY = 1|SOURCE_PUBLIC_KEY_PATH", flat, re.I):
        bad.append("replication without TLS, or with the RSA key exchange")
    removed = sorted({m.group(0).strip() for m in REMOVED_IN_8_4.finditer(script)})
    if removed:
        bad.append("removed in MySQL 8.4: " + ", ".join(removed))
    return not bad, "the set-up script lacks or has: " + "; ".join(bad)


def chk_replica_dsn(d):
    """cqrsd-with-replica's replica DSNs log in as the reader (user and
    password of its read DSN) on mysql-replica, to the read DSN's database."""
    env = env_of(services(d["cfg"]).get("cqrsd-with-replica"))
    read = env.get("CQRSD_READ_DSN", "")
    reps = dsns(env.get("CQRSD_REPLICA_DSN", ""))
    if not reps:
        return False, "cqrsd-with-replica has no CQRSD_REPLICA_DSN"
    bad = []
    for dsn in reps:
        if dsn_user_password(dsn) != dsn_user_password(read):
            bad.append(f"{dsn_user_password(dsn)[0]!r} is not the reader of CQRSD_READ_DSN")
        host, db = dsn_host_db(dsn)
        if host != "mysql-replica":
            bad.append(f"host {host!r} is not mysql-replica")
        if db != dsn_host_db(read)[1]:
            bad.append(f"database {db!r} is not the read DSN's")
    return not bad, "CQRSD_REPLICA_DSN: " + ", ".join(bad)


CHECKS = [
    ("mysql_image_8_4", chk_mysql_image),
    ("no_mysql_native_password", chk_no_native_password),
    ("mysql_command_utf8mb4_no_removed_options", chk_mysql_command),
    ("mysql_healthcheck", chk_mysql_healthcheck),
    ("cqrsd_env_no_admin_no_root", chk_cqrsd_no_admin),
    ("cqrsd_env_write_read_dsns_as_migrate", chk_cqrsd_dsns),
    ("migrate_has_admin_dsn", chk_migrate_admin),
    ("every_dsn_ssl_mode_required", chk_dsn_tls),
    ("passwords_are_var_with_default", chk_literal_secrets),
    ("one_image_built_once", chk_one_image),
    ("cqrsd_restart_policy", chk_cqrsd_restart),
    ("migrate_restart_no", chk_migrate_restart),
    ("depends_on_conditions", chk_depends),
    ("dockerfile_healthcheck_reads_cqrsd_listen", chk_healthcheck),
    ("runtime_installs_libmariadb3", chk_runtime_libmariadb3),
    ("dockerignore_leaves_out_build_var_sock_git", chk_dockerignore_lists),
    ("dockerignore_keeps_copied_sources", chk_dockerignore_keeps_sources),
    ("profiles_default_unchanged_replica_apart", chk_profiles),
    ("replica_images_mysql_8_4", chk_replica_images),
    ("gtid_binlog_row_server_ids_read_only", chk_gtid_settings),
    ("replica_healthcheck", chk_replica_healthcheck),
    ("replica_depends_on_conditions", chk_replica_depends),
    ("replica_setup_sql_gtid_tls_default_auth", chk_replica_setup),
    ("replica_dsn_is_the_reader_on_the_replica", chk_replica_dsn),
]


def run_checks(d):
    results = {}
    for name, fn in CHECKS:
        try:
            ok, why = fn(d)
        except Exception as e:  # a malformed input fails the check, never the script
            ok, why = False, f"{type(e).__name__}: {e}"
        results[name] = (bool(ok), why)
    return results


# ---------------------------------------------------------------- self-test

def mutations():
    """(check name, mutation name, function changing a copy of the inputs)"""
    def svc(d, name):
        return d["cfg"]["services"][name]

    def env(d, name):
        return svc(d, name).setdefault("environment", {})

    def text(key, old, new):
        def f(d):
            assert old in d[key], f"{old!r} not in {key}"
            d[key] = d[key].replace(old, new, 1)
        return f

    def script(old, new):
        """replace OLD (a regular expression) in the replica's set-up script"""
        def f(d):
            rel = next(r for r, _ in mounted_files(svc(d, "replica-setup"), d["context"]))
            new_text, n = re.subn(old, new, d["mounted"][rel], count=1)
            assert n, f"{old!r} not in {rel}"
            d["mounted"][rel] = new_text
        return f

    def cmd(name, old, new):
        """replace option OLD of NAME's command by NEW (None: drop it)"""
        def f(d):
            c = svc(d, name)["command"]
            i = next(i for i, x in enumerate(c) if x.startswith(old))
            c[i:i + 1] = [] if new is None else [new]
        return f

    def dep(name, on, cond):
        def f(d):
            if cond is None:
                svc(d, name)["depends_on"].pop(on)
            else:
                svc(d, name)["depends_on"][on] = {"condition": cond}
        return f

    replica_dsn = lambda d: env(d, "cqrsd-with-replica")["CQRSD_REPLICA_DSN"]

    return [
        ("mysql_image_8_4", "mysql:8.0", lambda d: svc(d, "mysql").update(image="mysql:8.0")),
        ("no_mysql_native_password", "in the compose file",
         lambda d: d.update(compose_text=d["compose_text"] + "\n# mysql_native_password\n")),
        ("no_mysql_native_password", "in the replica's set-up script",
         script(r"REQUIRE SSL;", "IDENTIFIED WITH mysql_native_password BY 'x' REQUIRE SSL;")),
        ("no_mysql_native_password", "in the Dockerfile",
         lambda d: d.update(dockerfile_text=d["dockerfile_text"] + "\n# mysql_native_password\n")),
        ("mysql_command_utf8mb4_no_removed_options", "no collation",
         lambda d: svc(d, "mysql").update(command=["--character-set-server=utf8mb4"])),
        ("mysql_command_utf8mb4_no_removed_options", "--default-authentication-plugin",
         lambda d: svc(d, "mysql")["command"].append(
             "--default-authentication-plugin=caching_sha2_password")),
        ("mysql_healthcheck", "none", lambda d: svc(d, "mysql").pop("healthcheck")),
        ("cqrsd_env_no_admin_no_root", "CQRSD_ADMIN_DSN",
         lambda d: env(d, "cqrsd").update(CQRSD_ADMIN_DSN=env(d, "migrate")["CQRSD_ADMIN_DSN"])),
        ("cqrsd_env_no_admin_no_root", "MYSQL_ROOT_PASSWORD",
         lambda d: env(d, "cqrsd").update(MYSQL_ROOT_PASSWORD="root")),
        ("cqrsd_env_no_admin_no_root", "root in the write DSN",
         lambda d: env(d, "cqrsd").update(
             CQRSD_WRITE_DSN="mysql://root:x@mysql:3306/cqrs?ssl-mode=required")),
        ("cqrsd_env_no_admin_no_root", "the admin DSN in cqrsd-with-replica",
         lambda d: env(d, "cqrsd-with-replica").update(
             CQRSD_ADMIN_DSN=env(d, "migrate")["CQRSD_ADMIN_DSN"])),
        ("cqrsd_env_no_admin_no_root", "the replica DSN logs in as root",
         lambda d: env(d, "cqrsd-with-replica").update(
             CQRSD_REPLICA_DSN=replica_dsn(d).replace("cqrs_reader:", "root:"))),
        ("cqrsd_env_no_admin_no_root", "the replication account's password beside the DSNs",
         lambda d: env(d, "cqrsd-with-replica").update(
             REPL_PASSWORD=env(d, "replica-setup")["REPL_PASSWORD"])),
        ("cqrsd_env_no_admin_no_root", "the replica DSN logs in as the replication account",
         lambda d: env(d, "cqrsd-with-replica").update(
             CQRSD_REPLICA_DSN="mysql://cqrs_repl:" + env(d, "replica-setup")["REPL_PASSWORD"]
                               + "@mysql-replica:3306/cqrs?ssl-mode=required")),
        ("cqrsd_env_write_read_dsns_as_migrate", "cqrsd gets the replica DSN",
         lambda d: env(d, "cqrsd").update(CQRSD_REPLICA_DSN=replica_dsn(d))),
        ("cqrsd_env_write_read_dsns_as_migrate", "cqrsd-with-replica has no replica DSN",
         lambda d: env(d, "cqrsd-with-replica").pop("CQRSD_REPLICA_DSN")),
        ("cqrsd_env_write_read_dsns_as_migrate", "cqrsd-with-replica writes with another account",
         lambda d: env(d, "cqrsd-with-replica").update(
             CQRSD_WRITE_DSN="mysql://other:x@mysql:3306/cqrs?ssl-mode=required")),
        ("cqrsd_env_write_read_dsns_as_migrate", "no read DSN",
         lambda d: env(d, "cqrsd").pop("CQRSD_READ_DSN")),
        ("cqrsd_env_write_read_dsns_as_migrate", "another writer password",
         lambda d: env(d, "cqrsd").update(
             CQRSD_WRITE_DSN="mysql://cqrs_writer:other@mysql:3306/cqrs?ssl-mode=required")),
        ("migrate_has_admin_dsn", "no admin DSN", lambda d: env(d, "migrate").pop("CQRSD_ADMIN_DSN")),
        ("every_dsn_ssl_mode_required", "admin DSN without TLS",
         lambda d: env(d, "migrate").update(CQRSD_ADMIN_DSN="mysql://root:root@mysql:3306/")),
        ("every_dsn_ssl_mode_required", "reader ssl-mode=preferred",
         lambda d: [env(d, s).update(CQRSD_READ_DSN=env(d, s)["CQRSD_READ_DSN"].replace(
             "ssl-mode=required", "ssl-mode=preferred")) for s in ("migrate", "cqrsd")]),
        ("every_dsn_ssl_mode_required", "the stack's replica DSN without TLS",
         lambda d: env(d, "cqrsd-with-replica").update(
             CQRSD_REPLICA_DSN=replica_dsn(d).replace("?ssl-mode=required", ""))),
        ("every_dsn_ssl_mode_required", "a replica without TLS",
         lambda d: env(d, "cqrsd").update(
             CQRSD_REPLICA_DSN="mysql://cqrs_reader:r@a:3306/cqrs?ssl-mode=required,"
                               "mysql://cqrs_reader:r@b:3306/cqrs")),
        ("passwords_are_var_with_default", "a literal root password",
         text("compose_text", "${CQRS_ROOT_PASSWORD:-root}", "root")),
        ("passwords_are_var_with_default", "a literal replication password",
         text("compose_text", "${CQRS_REPL_PASSWORD:-cqrs_repl}", "cqrs_repl")),
        ("passwords_are_var_with_default", "a variable without default",
         text("compose_text", "${CQRS_WRITER_PASSWORD:-cqrs_writer}", "${CQRS_WRITER_PASSWORD}")),
        ("one_image_built_once", "two images",
         lambda d: svc(d, "cqrsd").update(image="cqrsd:other")),
        ("one_image_built_once", "two builds",
         lambda d: svc(d, "cqrsd").update(build=svc(d, "migrate")["build"])),
        ("one_image_built_once", "cqrsd-with-replica builds its own",
         lambda d: svc(d, "cqrsd-with-replica").update(build=svc(d, "migrate")["build"])),
        ("one_image_built_once", "cqrsd-with-replica another image",
         lambda d: svc(d, "cqrsd-with-replica").update(image="cqrsd:replica")),
        ("one_image_built_once", "no image name (each service its own build)",
         lambda d: [svc(d, s).pop("image") for s in ("migrate", "cqrsd")]),
        ("cqrsd_restart_policy", "none", lambda d: svc(d, "cqrsd").pop("restart")),
        ("cqrsd_restart_policy", "\"no\"", lambda d: svc(d, "cqrsd").update(restart="no")),
        ("cqrsd_restart_policy", "cqrsd-with-replica none",
         lambda d: svc(d, "cqrsd-with-replica").pop("restart")),
        ("migrate_restart_no", "unless-stopped",
         lambda d: svc(d, "migrate").update(restart="unless-stopped")),
        ("depends_on_conditions", "cqrsd waits for migrate to start only",
         lambda d: svc(d, "cqrsd").update(depends_on={"migrate": {"condition": "service_started"}})),
        ("depends_on_conditions", "migrate does not wait for mysql",
         lambda d: svc(d, "migrate").pop("depends_on")),
        ("dockerfile_healthcheck_reads_cqrsd_listen", "port 8080",
         lambda d: d.update(dockerfile_text=re.sub(
             r"HEALTHCHECK[^\n]*(\\\n[^\n]*)*",
             "HEALTHCHECK CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1",
             d["dockerfile_text"]))),
        ("dockerfile_healthcheck_reads_cqrsd_listen", "no HEALTHCHECK",
         lambda d: d.update(dockerfile_text=re.sub(
             r"HEALTHCHECK[^\n]*(\\\n[^\n]*)*", "", d["dockerfile_text"]))),
        ("runtime_installs_libmariadb3", "libmysqlclient21 instead",
         lambda d: d.update(dockerfile_text=d["dockerfile_text"].replace(
             "libmariadb3 libmicrohttpd12", "libmysqlclient21 libmicrohttpd12"))),
        ("dockerignore_leaves_out_build_var_sock_git", "no build/",
         lambda d: d.update(dockerignore_text=re.sub(r"(?m)^build/?$", "", d["dockerignore_text"]))),
        ("dockerignore_leaves_out_build_var_sock_git", "no var/",
         lambda d: d.update(dockerignore_text=re.sub(r"(?m)^var/?$", "", d["dockerignore_text"]))),
        ("dockerignore_leaves_out_build_var_sock_git", "no *.sock",
         lambda d: d.update(dockerignore_text=re.sub(r"(?m)^(\*\*/)?\*\.sock$", "",
                                                     d["dockerignore_text"]))),
        ("dockerignore_leaves_out_build_var_sock_git", "build/ re-included",
         lambda d: d.update(dockerignore_text=d["dockerignore_text"] + "\n!build\n")),
        ("dockerignore_keeps_copied_sources", "src/ ignored",
         lambda d: d.update(dockerignore_text=d["dockerignore_text"] + "\nsrc/*.c\n")),
        ("dockerignore_keeps_copied_sources", "*.sh ignored (scripts/)",
         lambda d: d.update(dockerignore_text=d["dockerignore_text"] + "\n**/*.sh\n")),
        # the replica profile
        ("profiles_default_unchanged_replica_apart", "mysql-replica in the default profile",
         lambda d: svc(d, "mysql-replica").pop("profiles")),
        ("profiles_default_unchanged_replica_apart", "cqrsd moved to the replica profile",
         lambda d: svc(d, "cqrsd").update(profiles=["replica"])),
        ("profiles_default_unchanged_replica_apart", "replica-setup in another profile",
         lambda d: svc(d, "replica-setup").update(profiles=["replicas"])),
        ("profiles_default_unchanged_replica_apart", "no cqrsd-with-replica",
         lambda d: d["cfg"]["services"].pop("cqrsd-with-replica")),
        ("replica_images_mysql_8_4", "the replica on mysql:8.0",
         lambda d: svc(d, "mysql-replica").update(image="mysql:8.0")),
        ("replica_images_mysql_8_4", "the set-up with mariadb's client",
         lambda d: svc(d, "replica-setup").update(image="mariadb:11")),
        ("gtid_binlog_row_server_ids_read_only", "no GTIDs on the primary",
         cmd("mysql", "--gtid-mode", None)),
        ("gtid_binlog_row_server_ids_read_only", "GTIDs OFF_PERMISSIVE on the replica",
         cmd("mysql-replica", "--gtid-mode", "--gtid_mode=OFF_PERMISSIVE")),
        ("gtid_binlog_row_server_ids_read_only", "no enforce-gtid-consistency on the replica",
         cmd("mysql-replica", "--enforce-gtid-consistency", None)),
        ("gtid_binlog_row_server_ids_read_only", "one server id",
         cmd("mysql-replica", "--server-id", "--server-id=1")),
        ("gtid_binlog_row_server_ids_read_only", "no server id on the replica",
         cmd("mysql-replica", "--server-id", None)),
        ("gtid_binlog_row_server_ids_read_only", "the primary's binary log off",
         lambda d: svc(d, "mysql")["command"].append("--skip-log-bin")),
        ("gtid_binlog_row_server_ids_read_only", "statement-based binary log",
         lambda d: svc(d, "mysql")["command"].append("--binlog_format=STATEMENT")),
        ("gtid_binlog_row_server_ids_read_only", "the replica writable",
         cmd("mysql-replica", "--read-only", None)),
        ("gtid_binlog_row_server_ids_read_only", "the replica's collation differs",
         cmd("mysql-replica", "--collation-server", "--collation-server=utf8mb4_0900_ai_ci")),
        ("replica_healthcheck", "none", lambda d: svc(d, "mysql-replica").pop("healthcheck")),
        ("replica_depends_on_conditions", "set-up before migrate has finished",
         dep("replica-setup", "migrate", None)),
        ("replica_depends_on_conditions", "set-up while the replica starts",
         dep("replica-setup", "mysql-replica", "service_started")),
        ("replica_depends_on_conditions", "the daemon before the set-up has finished",
         dep("cqrsd-with-replica", "replica-setup", "service_started")),
        ("replica_depends_on_conditions", "the set-up restarts",
         lambda d: svc(d, "replica-setup").update(restart="on-failure")),
        ("replica_setup_sql_gtid_tls_default_auth", "no script mounted",
         lambda d: svc(d, "replica-setup").pop("volumes")),
        ("replica_setup_sql_gtid_tls_default_auth", "no auto-position",
         script(r"SOURCE_AUTO_POSITION = 1", "SOURCE_AUTO_POSITION = 0")),
        ("replica_setup_sql_gtid_tls_default_auth", "replication without TLS",
         script(r"SOURCE_SSL = 1", "SOURCE_SSL = 0")),
        ("replica_setup_sql_gtid_tls_default_auth", "the RSA key exchange instead",
         script(r"SOURCE_SSL = 1", "GET_SOURCE_PUBLIC_KEY = 1")),
        ("replica_setup_sql_gtid_tls_default_auth", "the account without REQUIRE SSL",
         script(r"(CREATE USER[^;]*) REQUIRE SSL;", r"\1;")),
        ("replica_setup_sql_gtid_tls_default_auth", "the account names its plugin",
         script(r"(CREATE USER[^;]*)IDENTIFIED BY", r"\1IDENTIFIED WITH caching_sha2_password BY")),
        ("replica_setup_sql_gtid_tls_default_auth", "no grant",
         script(r"GRANT REPLICATION SLAVE[^;]*;", "")),
        ("replica_setup_sql_gtid_tls_default_auth", "no START REPLICA",
         script(r"START REPLICA;", "")),
        ("replica_setup_sql_gtid_tls_default_auth", "8.0's CHANGE MASTER TO",
         script(r"CHANGE REPLICATION SOURCE TO", "CHANGE MASTER TO")),
        ("replica_setup_sql_gtid_tls_default_auth", "START SLAVE",
         script(r"START REPLICA;", "START SLAVE;")),
        ("replica_setup_sql_gtid_tls_default_auth", "the replica replicates from itself",
         lambda d: env(d, "replica-setup").update(PRIMARY_HOST="mysql-replica")),
        ("replica_dsn_is_the_reader_on_the_replica", "the writer on the replica",
         lambda d: env(d, "cqrsd-with-replica").update(
             CQRSD_REPLICA_DSN=env(d, "cqrsd-with-replica")["CQRSD_WRITE_DSN"].replace(
                 "@mysql:", "@mysql-replica:"))),
        ("replica_dsn_is_the_reader_on_the_replica", "the reader on the primary",
         lambda d: env(d, "cqrsd-with-replica").update(
             CQRSD_REPLICA_DSN=env(d, "cqrsd-with-replica")["CQRSD_READ_DSN"])),
        ("replica_dsn_is_the_reader_on_the_replica", "another database",
         lambda d: env(d, "cqrsd-with-replica").update(
             CQRSD_REPLICA_DSN=replica_dsn(d).replace("/cqrs?", "/other?"))),
        ("replica_dsn_is_the_reader_on_the_replica", "a second replica DSN with another password",
         lambda d: env(d, "cqrsd-with-replica").update(
             CQRSD_REPLICA_DSN=replica_dsn(d) + "," + replica_dsn(d).replace(":cqrs_reader@", ":x@"))),
    ]


def selftest(d):
    lines = []
    names = [n for n, _ in CHECKS]
    for check, what, fn in mutations():
        m = copy.deepcopy(d)
        try:
            fn(m)
        except Exception as e:
            lines.append(f"FAIL selftest {check}/{what}: the mutation did not apply ({e})")
            continue
        r = run_checks(m)
        if check not in names:
            lines.append(f"FAIL selftest {check}/{what}: no such check")
        elif r[check][0]:
            lines.append(f"FAIL selftest {check}/{what}: the check still passes")
        else:
            lines.append(f"PASS selftest {check}/{what}")
    # every check has at least one mutation
    for n in names:
        if not any(c == n for c, _, _ in mutations()):
            lines.append(f"FAIL selftest {n}: no mutation shows it can fail")
    return lines


def helper(argv):
    """Small queries for tests/integration/61_compose.sh:
    --healthcheck-cmd DOCKERFILE     the last HEALTHCHECK's command (shell form)
    --env RESOLVED SERVICE           the service's environment, K=V a line
    --holding RESOLVED TEXT          the services whose configuration holds TEXT
    --replica-sql RESOLVED CONTEXT   the SQL of replica-setup's script, its
                                     variables replaced by the service's values
    --replica-script RESOLVED CONTEXT  that script's path"""
    with open(argv[1], encoding="utf-8") as f:
        text = f.read()
    if argv[0] in ("--replica-sql", "--replica-script"):
        cfg, context = yaml.safe_load(text), argv[2]
        svc = services(cfg).get("replica-setup") or {}
        files = [rel for rel, dst in mounted_files(svc, context) if dst in command_list(svc)]
        if not files:
            return 1
        path = os.path.join(context, files[0])
        if argv[0] == "--replica-script":
            print(path)
            return 0
        with open(path, encoding="utf-8") as f:
            print(heredoc_sql(f.read(), env_of(svc)))
        return 0
    if argv[0] == "--healthcheck-cmd":
        hcs = [a for w, a in dockerfile_instructions(text) if w == "HEALTHCHECK"]
        words = hcs[-1].split() if hcs else []
        while words and words[0].startswith("--"):
            words.pop(0)
        if not words or words[0] != "CMD":
            return 1
        print(hcs[-1][hcs[-1].index("CMD") + 3:].strip())
    elif argv[0] == "--env":
        for k, v in sorted(env_of(services(yaml.safe_load(text)).get(argv[2])).items()):
            print(f"{k}={v}")
    elif argv[0] == "--holding":
        svcs = services(yaml.safe_load(text))
        print(" ".join(sorted(n for n, s in svcs.items() if argv[2] in yaml.safe_dump(s))))
    return 0


def main(argv):
    if argv and argv[0] in ("--healthcheck-cmd", "--env", "--holding", "--replica-sql",
                            "--replica-script"):
        return helper(argv)
    self_test = bool(argv) and argv[0] == "--selftest"
    if self_test:
        argv = argv[1:]
    if len(argv) != 5:
        print(__doc__, file=sys.stderr)
        return 2
    resolved, compose, dockerfile, dockerignore, context = argv

    def read(p):
        try:
            with open(p, encoding="utf-8") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    d = {
        "cfg": yaml.safe_load(read(resolved)) or {},
        "compose_text": read(compose),
        "dockerfile_text": read(dockerfile),
        "dockerignore_text": read(dockerignore),
        "context": context,
    }
    # the files the services mount from the context (replica-setup's script)
    d["mounted"] = {rel: read(os.path.join(context, rel))
                    for svc in services(d["cfg"]).values()
                    for rel, _ in mounted_files(svc, context)}
    if self_test:
        base = run_checks(d)
        bad = [n for n, (ok, _) in base.items() if not ok]
        if bad:  # mutations prove something only against inputs that pass
            print(f"FAIL selftest: the inputs fail {', '.join(bad)} already")
            return 1
        lines = selftest(d)
    else:
        lines = [f"PASS {n}" if ok else f"FAIL {n}: {why}" for n, (ok, why) in run_checks(d).items()]
    print("\n".join(lines))
    return 0 if all(l.startswith("PASS") for l in lines) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
