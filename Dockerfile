# cqrsd: build on Debian 12, run as a non-root user in a slim Debian 12 image.
FROM debian:12 AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc make pkg-config libc6-dev \
      libmariadb-dev libmariadb-dev-compat libmicrohttpd-dev libjansson-dev libssl-dev libjwt-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Makefile ./
COPY include ./include
COPY src ./src
COPY sql ./sql
COPY scripts ./scripts
RUN make all

# libmariadb3 brings the client side of MySQL 8's default authentication,
# caching_sha2_password, as a plugin file in its plugin folder
# (/usr/lib/<arch>/libmariadb3/plugin/); the build stops if it is missing
FROM debian:12-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libmariadb3 libmicrohttpd12 libjansson4 libssl3 libjwt0 \
      curl ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && test -f "$(dpkg -L libmariadb3 | grep '/libmariadb3/plugin/caching_sha2_password\.so$')" \
 && useradd --system --uid 10001 --no-create-home cqrsd
COPY --from=build /src/build/cqrsd /usr/local/bin/cqrsd
USER cqrsd
ENV CQRSD_LISTEN=0.0.0.0:8080
EXPOSE 8080
# the port of CQRSD_LISTEN (HOST:PORT, as the daemon reads it), read when the
# check runs; a wildcard or empty host is checked on loopback
HEALTHCHECK --interval=5s --timeout=2s --retries=5 \
  CMD h=${CQRSD_LISTEN%:*}; \
      case "$h" in ""|"*"|0.0.0.0|localhost) h=127.0.0.1 ;; "[::]") h="[::1]" ;; esac; \
      curl -fsSg -o /dev/null "http://$h:${CQRSD_LISTEN##*:}/healthz" || exit 1
ENTRYPOINT ["/usr/local/bin/cqrsd"]
CMD ["serve"]
