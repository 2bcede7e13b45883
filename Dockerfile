# cqrsd: build on Debian 12, run as a non-root user in a slim Debian 12 image.
FROM debian:12 AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc make pkg-config libc6-dev \
      libmariadb-dev libmariadb-dev-compat libmicrohttpd-dev libjansson-dev libssl-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Makefile ./
COPY include ./include
COPY src ./src
COPY sql ./sql
COPY scripts ./scripts
RUN make all

FROM debian:12-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libmariadb3 libmicrohttpd12 libjansson4 libssl3 \
      curl ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --no-create-home cqrsd
COPY --from=build /src/build/cqrsd /usr/local/bin/cqrsd
USER cqrsd
ENV CQRSD_LISTEN=0.0.0.0:8080
EXPOSE 8080
HEALTHCHECK --interval=5s --timeout=2s --retries=5 CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["/usr/local/bin/cqrsd"]
CMD ["serve"]
