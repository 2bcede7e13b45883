/* http.h - the HTTP server (libmicrohttpd) */
#ifndef CQRSD_HTTP_H
#define CQRSD_HTTP_H

#include <stdbool.h>
#include <sys/socket.h>

#include "config.h"

/* Start serving cfg->listen with cfg->threads workers; -1 on failure. */
int http_start(const struct config *cfg);
/* Stop accepting, wait up to grace_ms for requests in flight, then stop. */
void http_stop(unsigned grace_ms);

/* Parse "HOST:PORT", "[V6]:PORT" or ":PORT"; -1 when malformed. */
int http_listen_parse(const char *s, struct sockaddr_storage *ss, socklen_t *len);
/* True for application/json with an optional "; charset=utf-8". */
bool http_json_content_type(const char *ct);
/* True for 1-64 visible ASCII characters. */
bool http_request_id_ok(const char *s);

/* libmicrohttpd's version string. */
const char *http_library_version(void);

#endif
