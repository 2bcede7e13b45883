/* catalog.h - every SQL statement the daemon prepares, by name */
#ifndef CQRSD_CATALOG_H
#define CQRSD_CATALOG_H

enum { DB_WRITE = 0, DB_READ = 1 };

enum q {
    /* write side (writer account) */
    Q_CATEGORY_UPSERT,
    Q_CATEGORY_NAME,
    Q_CATEGORY_FIND,
    Q_PRODUCT_INSERT,
    Q_PRODUCT_LOCK,
    Q_PRODUCT_UPDATE,
    Q_PRODUCT_PRICE,
    Q_PRODUCT_RESTOCK,
    Q_PRODUCT_DELETE,
    Q_PRODUCT_STOCK_MOVE,
    Q_PRODUCT_STOCK_MOVE4,
    Q_CUSTOMER_INSERT,
    Q_CUSTOMER_LOCK,
    Q_ORDER_INSERT,
    Q_ORDER_PRODUCTS4,
    Q_ORDER_PRODUCTS16,
    Q_ORDER_LINE_INSERT,
    Q_ORDER_LINE_INSERT2,
    Q_ORDER_LINE_INSERT3,
    Q_ORDER_LINE_INSERT4,
    Q_ORDER_LOCK,
    Q_ORDER_OWNER,
    Q_ORDER_LINES,
    Q_ORDER_TRANSITION,
    Q_EVENT_HEAD,
    Q_EVENT_INSERT,
    Q_IDEM_CLAIM,
    Q_IDEM_GET,
    Q_IDEM_SAVE,
    Q_IDEM_PURGE,
    Q_QUEUE_INSERT,
    Q_QUEUE_CLAIM,
    Q_QUEUE_CLAIM_EXPIRED,
    Q_QUEUE_MARK_RUNNING,
    Q_QUEUE_LOAD,
    Q_QUEUE_BOUND,
    Q_QUEUE_FINISH,
    Q_QUEUE_RETRY,
    Q_QUEUE_GET,
    Q_QUEUE_GET_ID,
    Q_QUEUE_LIST,
    Q_QUEUE_LIST_STATUS,
    Q_QUEUE_STATS,
    Q_QUEUE_PURGE,
    /* read side (reader account) */
    Q_PRODUCT_DOC,
    Q_PRODUCT_DOCS4,
    Q_PRODUCT_DOCS16,
    Q_PRODUCTS_BY_ID,
    Q_PRODUCTS_BY_PRICE,
    Q_PRODUCTS_BY_SOLD,
    Q_PRODUCTS_CAT_BY_ID,
    Q_PRODUCTS_CAT_BY_PRICE,
    Q_PRODUCTS_CAT_BY_SOLD,
    Q_ORDER_DOC,
    Q_ORDER_DOCS4,
    Q_ORDER_DOCS16,
    Q_CUSTOMER_DOC,
    Q_CUSTOMER_DOCS4,
    Q_CUSTOMER_DOCS16,
    Q_CUSTOMER_ORDERS,
    Q_CUSTOMER_ORDERS_STATUS,
    Q_EVENTS_PAGE,
    Q_EVENTS_TYPES,
    Q_EVENTS_AGGREGATE,
    Q_EVENTS_TOP,
    Q__COUNT
};

struct catalog_entry {
    int side; /* DB_WRITE or DB_READ */
    const char *name;
    const char *sql;
};

extern const struct catalog_entry catalog[Q__COUNT];

/*
 * The texts db.c sends by itself, outside the prepared statements: the
 * session setup of every daemon connection and the transaction statements.
 * Here, like the catalog, so that tests/sqlcheck checks them too.
 */
enum s {
    S_SESSION_SETUP,     /* MYSQL_INIT_COMMAND: time zone and lock waits */
    S_SESSION_ISOLATION, /* MYSQL_INIT_COMMAND: READ COMMITTED */
    S_TX_BEGIN,
    S_TX_SAVEPOINT,
    S_TX_ROLLBACK_SAVEPOINT,
    S_TRACK_GTID_MARIADB,       /* write connections, with replicas: report each commit's GTID */
    S_TRACK_GTID_MYSQL,
    S_POSITION_MARIADB_PRIMARY, /* the transactions a server has: its position */
    S_POSITION_MARIADB_REPLICA,
    S_POSITION_MYSQL,
    S_REPLICA_STATUS,           /* a replica's threads and source (dbprobe.c) */
    S_WAIT_MARIADB,             /* (gtids, ms): wait until applied, then the position */
    S_WAIT_MYSQL,
    S__COUNT
};

extern const struct catalog_entry catalog_session[S__COUNT];

/*
 * The result columns of the statements that return rows, by name, in the
 * order of their SELECT lists in catalog.c (read them with db_i64 / db_str).
 */
/* Q_PRODUCT_LOCK */
enum { PL_VERSION, PL_LIVE, PL_PRICE, PL_STOCK, PL_SKU, PL_NAME, PL_DESCRIPTION, PL_CATEGORY };
/* Q_ORDER_PRODUCTS4, Q_ORDER_PRODUCTS16 */
enum { OP_ID, OP_LIVE, OP_PRICE, OP_STOCK, OP_SKU, OP_NAME };
/* Q_ORDER_LOCK */
enum { OL_STATUS, OL_VERSION, OL_CUSTOMER };
/* Q_ORDER_LINES */
enum { LN_PRODUCT, LN_QUANTITY };
/* Q_EVENTS_PAGE, Q_EVENTS_TYPES, Q_EVENTS_AGGREGATE (EVENT_COLS) */
enum { EV_POSITION, EV_TYPE, EV_AGGREGATE_TYPE, EV_AGGREGATE_ID, EV_AGGREGATE_VERSION, EV_DATA,
       EV_COMMAND_ID, EV_OCCURRED_AT };
/* Q_EVENTS_TOP, Q_CATEGORY_NAME, Q_*_DOC: one column (Q_ORDER_DOC: then its customer) */
enum { COL_FIRST, DOC_OWNER };
/* the product lists (PRODUCT_LIST_COLS) */
enum { PLIST_DOC, PLIST_ID, PLIST_PRICE, PLIST_SOLD };
/* Q_*_DOCS4, Q_*_DOCS16 (several documents by id; Q_ORDER_DOCS*: then the customer) */
enum { DOCS_ID, DOCS_DOC, DOCS_OWNER };
/* Q_IDEM_GET */
enum { IG_DIGEST, IG_STATUS, IG_LOCATION, IG_BODY };
/* Q_QUEUE_CLAIM, Q_QUEUE_CLAIM_EXPIRED */
enum { QC_SEQ, QC_ATTEMPTS, QC_TYPE };
/* Q_QUEUE_LOAD */
enum { QL_STATUS, QL_LEASE_OWNER, QL_COMMAND_ID, QL_ENVELOPE };
/* Q_QUEUE_BOUND */
enum { QB_COMMAND_ID, QB_TYPE, QB_ENVELOPE };
/* Q_QUEUE_GET, Q_QUEUE_LIST, Q_QUEUE_LIST_STATUS (QUEUE_COLS) */
enum { QS_COMMAND_ID, QS_TYPE, QS_STATUS, QS_RESULT, QS_ERROR, QS_ATTEMPTS, QS_CREATED_AT,
       QS_FINISHED_AT, QS_SEQ };
/* Q_QUEUE_STATS */
enum { QT_STATUS, QT_COUNT, QT_OLDEST_US };
/* Q_CUSTOMER_ORDERS, Q_CUSTOMER_ORDERS_STATUS */
enum { CO_DOC, CO_ORDER_ID };

#endif
