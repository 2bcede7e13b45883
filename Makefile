# cqrsd - see README.md. `make` builds build/cqrsd; `make run` and `make test`
# install what is missing first (scripts/deps.sh), so they work on a fresh
# Debian 12 machine.

CC       ?= cc
PKGS     := libmariadb libmicrohttpd jansson libcrypto libjwt
WARN     := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror
# pkg-config runs when a recipe needs it, after `deps` had its chance
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   = $(shell pkg-config --libs $(PKGS)) -lpthread
CFLAGS   ?= -O2 -g
ASAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

SRC      := $(wildcard src/*.c)
LIB_SRC  := $(filter-out src/main.c,$(SRC))
GEN      := build/gen/sql_files.c build/gen/sql_recompute.c build/gen/openapi.c
HDRS     := $(wildcard include/*.h)
UNIT_SRC := $(wildcard tests/unit/*.c)

.PHONY: all asan unit integration test run bench soak fuzz clean fmt deps sqlcheck

all: build/cqrsd

# the folder too: a file removed from sql/ changes its time, not the files listed
build/gen/sql_files.c: scripts/embed-sql.sh $(wildcard sql/*.sql) sql
	@mkdir -p $(dir $@)
	sh scripts/embed-sql.sh sql_files $(sort $(wildcard sql/*.sql)) > $@.tmp && mv $@.tmp $@

build/gen/openapi.c: scripts/embed-sql.sh src/openapi.json
	@mkdir -p $(dir $@)
	sh scripts/embed-sql.sh openapi_files src/openapi.json > $@.tmp && mv $@.tmp $@

build/gen/sql_recompute.c: scripts/embed-sql.sh $(wildcard sql/recompute/*.sql) sql/recompute
	@mkdir -p $(dir $@)
	sh scripts/embed-sql.sh sql_recompute $(sort $(wildcard sql/recompute/*.sql)) > $@.tmp && mv $@.tmp $@

build/cqrsd: $(SRC) $(GEN) $(HDRS)
	@mkdir -p build
	$(CC) $(WARN) $(CFLAGS) -Iinclude $(PKG_CFLAGS) -o $@ $(SRC) $(GEN) $(PKG_LIBS)

asan: build/asan/cqrsd

build/asan/cqrsd: $(SRC) $(GEN) $(HDRS)
	@mkdir -p build/asan
	$(CC) $(WARN) $(ASAN_FLAGS) -Iinclude $(PKG_CFLAGS) -o $@ $(SRC) $(GEN) $(PKG_LIBS)

build/unit_tests: $(UNIT_SRC) $(LIB_SRC) $(GEN) $(HDRS)
	@mkdir -p build
	$(CC) $(WARN) $(ASAN_FLAGS) -Iinclude $(PKG_CFLAGS) $(shell pkg-config --cflags check) \
	    -o $@ $(UNIT_SRC) $(LIB_SRC) $(GEN) $(PKG_LIBS) $(shell pkg-config --libs check)

# Check unit tests; prints "unit: N passed, M failed" for tests/run.sh
unit: build/unit_tests
	./build/unit_tests

integration: build/asan/cqrsd
	bash tests/run.sh --integration-only

deps:
	sh scripts/deps.sh

# every SQL text of the daemon and its tools, from the compiled code (tests/sqlcheck/dump_sql.c)
DUMP_SRC := tests/sqlcheck/dump_sql.c src/admin.c src/views.c src/drift.c src/replay.c src/catalog.c src/sqlscript.c \
            src/sbuf.c src/periodic.c src/metrics.c src/log.c src/timefmt.c src/request.c
build/dump_sql: $(DUMP_SRC) $(GEN) $(HDRS)
	@mkdir -p build
	$(CC) $(WARN) $(CFLAGS) -Iinclude -o $@ $(DUMP_SRC) build/gen/sql_files.c \
	    build/gen/sql_recompute.c -ljansson -lpthread

build/daemon_sql.sql: build/dump_sql
	./build/dump_sql $@

# sql/ and the daemon's own statements against a MySQL 8 grammar and MySQL's reserved words
sqlcheck: build/daemon_sql.sql
	sh tests/sqlcheck/run.sh $(sort $(wildcard sql/*.sql)) $(sort $(wildcard sql/recompute/*.sql))
	sh tests/sqlcheck/run.sh --placeholders build/daemon_sql.sql

# everything, from nothing: packages, builds, a private MariaDB, all tests
test:
	sh scripts/deps.sh
	$(MAKE) all asan build/unit_tests build/dump_sql
	bash tests/run.sh

# the benchmark: its own tuned MariaDB, wrk and sysbench side by side (BENCH_SECONDS)
bench:
	sh scripts/deps.sh
	$(MAKE) all
	bash tests/bench/run.sh

# minutes of mixed load, every guarantee checked, RSS/fds/threads sampled (SOAK_SECONDS)
soak:
	sh scripts/deps.sh
	$(MAKE) all
	bash tests/soak/run.sh

# every libFuzzer target for FUZZ_SECONDS each (default 60)
fuzz: all
	bash tests/fuzz/run.sh

run:
	sh scripts/deps.sh
	$(MAKE) all
	bash scripts/run.sh

clean:
	rm -rf build

fmt:
	clang-format -i src/*.c include/*.h tests/unit/*.c
