#!/usr/bin/env python3
"""compose_check.py - the properties of the Docker stack, read from its files.

    compose_check.py RESOLVED.yml COMPOSE.yml Dockerfile .dockerignore CONTEXT
    compose_check.py --selftest RESOLVED.yml COMPOSE.yml Dockerfile .dockerignore CONTEXT

RESOLVED.yml is `docker-compose config` of COMPOSE.yml (interpolated, anchors
and merges resolved); COMPOSE.yml is the file as written (for what must hold
of the text: no literal passwords, no mysql_native_password). CONTEXT is the
build context (the repository's top). Prints one line per property,
"PASS name" or "FAIL name: why".

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
    where = [name for name, text in (("docker-compose.yml", d["compose_text"]),
                                     ("Dockerfile", d["dockerfile_text"]),
                                     ("the resolved config", yaml.safe_dump(d["cfg"])))
             if "mysql_native_password" in text.lower()]
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
    svcs = services(d["cfg"])
    env = env_of(svcs.get("cqrsd"))
    root_pw = env_of(svcs.get("mysql")).get("MYSQL_ROOT_PASSWORD")
    bad = [k for k in env if "ADMIN" in k.upper() or "ROOT" in k.upper()]
    for k, v in env.items():
        for dsn in dsns(v):
            user, pw = dsn_user_password(dsn)
            if user == "root":
                bad.append(f"{k} logs in as root")
            elif root_pw and pw == root_pw:
                bad.append(f"{k} carries the root password")
    if "secrets" in (svcs.get("cqrsd") or {}):
        bad.append("secrets (cqrsd needs none)")
    return not bad, "cqrsd's environment has " + ", ".join(bad)


def chk_cqrsd_dsns(d):
    svcs = services(d["cfg"])
    env = env_of(svcs.get("cqrsd"))
    dsn_keys = sorted(k for k in env if k.endswith("_DSN") or k.endswith("_DSNS"))
    if dsn_keys != ["CQRSD_READ_DSN", "CQRSD_WRITE_DSN"]:
        return False, f"cqrsd's DSNs are {dsn_keys}, want the write and read DSNs only"
    menv = env_of(svcs.get("migrate"))
    for k in dsn_keys:  # migrate creates the accounts cqrsd logs in with
        if menv.get(k) != env[k]:
            return False, f"migrate's {k} differs from cqrsd's"
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
            if k in ("MYSQL_ROOT_PASSWORD", "MYSQL_PASSWORD") and not SECRET_DEFAULT.match(v):
                bad.append(f"{name}.{k}")
            for dsn in dsns(v):
                _, pw = dsn_user_password(dsn)
                if pw and not SECRET_DEFAULT.match(pw):
                    bad.append(f"{name}.{k}'s password")
    return not bad, "literal passwords (want ${VAR:-default}): " + ", ".join(bad)


def chk_one_image(d):
    svcs = services(d["cfg"])
    m, c = svcs.get("migrate") or {}, svcs.get("cqrsd") or {}
    if not m.get("image") or m.get("image") != c.get("image"):
        return False, f"migrate's image {m.get('image')!r} and cqrsd's {c.get('image')!r} " \
                      "are not one named image"
    builds = [n for n, s in (("migrate", m), ("cqrsd", c)) if "build" in s]
    return builds == ["migrate"], f"services with a build section: {builds}, want ['migrate'] " \
                                  "(cqrsd depends on migrate, so the image is built first)"


def chk_cqrsd_restart(d):
    r = str(services(d["cfg"]).get("cqrsd", {}).get("restart", "no"))
    ok = r in ("always", "unless-stopped") or r.startswith("on-failure")
    return ok, f"cqrsd's restart is {r!r}"


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

    return [
        ("mysql_image_8_4", "mysql:8.0", lambda d: svc(d, "mysql").update(image="mysql:8.0")),
        ("no_mysql_native_password", "in the compose file",
         lambda d: d.update(compose_text=d["compose_text"] + "\n# mysql_native_password\n")),
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
        ("every_dsn_ssl_mode_required", "a replica without TLS",
         lambda d: env(d, "cqrsd").update(
             CQRSD_REPLICA_DSN="mysql://cqrs_reader:r@a:3306/cqrs?ssl-mode=required,"
                               "mysql://cqrs_reader:r@b:3306/cqrs")),
        ("passwords_are_var_with_default", "a literal root password",
         text("compose_text", "${CQRS_ROOT_PASSWORD:-root}", "root")),
        ("passwords_are_var_with_default", "a variable without default",
         text("compose_text", "${CQRS_WRITER_PASSWORD:-cqrs_writer}", "${CQRS_WRITER_PASSWORD}")),
        ("one_image_built_once", "two images",
         lambda d: svc(d, "cqrsd").update(image="cqrsd:other")),
        ("one_image_built_once", "two builds",
         lambda d: svc(d, "cqrsd").update(build=svc(d, "migrate")["build"])),
        ("one_image_built_once", "no image name (each service its own build)",
         lambda d: [svc(d, s).pop("image") for s in ("migrate", "cqrsd")]),
        ("cqrsd_restart_policy", "none", lambda d: svc(d, "cqrsd").pop("restart")),
        ("cqrsd_restart_policy", "\"no\"", lambda d: svc(d, "cqrsd").update(restart="no")),
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
    --holding RESOLVED TEXT          the services whose configuration holds TEXT"""
    with open(argv[1], encoding="utf-8") as f:
        text = f.read()
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
    if argv and argv[0] in ("--healthcheck-cmd", "--env", "--holding"):
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
