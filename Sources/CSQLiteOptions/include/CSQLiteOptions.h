#ifndef PG_CSQLITEOPTIONS_H
#define PG_CSQLITEOPTIONS_H

#include <sqlite3.h>

/// sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, 0): closing the last connection
/// leaves the WAL for the next one to open instead of checkpointing it (and, with it, syncing
/// the database and deleting the WAL, which the next open then re-creates and syncs). Swift
/// cannot call the variadic sqlite3_db_config itself. Returns an SQLite result code.
int csqlite_keep_wal_on_close(sqlite3 *db);

#endif
