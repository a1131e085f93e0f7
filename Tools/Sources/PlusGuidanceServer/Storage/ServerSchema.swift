import GRDB

/// The reference server's schema. Times are REAL seconds since 2001-01-01 UTC (`Date`'s own
/// representation), so they round-trip exactly.
enum ServerSchema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("0001-initial") { db in
            try db.execute(
                sql: """
                    CREATE TABLE user (
                        id TEXT PRIMARY KEY, email TEXT NOT NULL UNIQUE COLLATE NOCASE, name TEXT NOT NULL,
                        role TEXT NOT NULL, passwordHash TEXT NOT NULL);
                    CREATE TABLE relation (
                        therapistID TEXT NOT NULL REFERENCES user(id), clientID TEXT NOT NULL REFERENCES user(id),
                        PRIMARY KEY (therapistID, clientID));
                    CREATE INDEX relation_by_client ON relation (clientID);
                    CREATE TABLE message (
                        id TEXT PRIMARY KEY, conversationID TEXT NOT NULL, senderID TEXT NOT NULL,
                        recipientID TEXT NOT NULL, kind TEXT NOT NULL, body TEXT NOT NULL, createdAt REAL NOT NULL,
                        offerID TEXT, sessionID TEXT);
                    CREATE INDEX message_by_conversation ON message (conversationID, createdAt, id);
                    CREATE TABLE offer (
                        id TEXT PRIMARY KEY, therapistID TEXT NOT NULL, clientID TEXT NOT NULL, type TEXT NOT NULL,
                        startsAt REAL, durationMinutes INTEGER NOT NULL, requiresConfirmation INTEGER NOT NULL,
                        state TEXT NOT NULL, createdAt REAL NOT NULL, expiresAt REAL NOT NULL, closedAt REAL,
                        sessionID TEXT);
                    CREATE INDEX offer_pending ON offer (expiresAt) WHERE state = 'pending';
                    CREATE TABLE session (
                        id TEXT PRIMARY KEY, offerID TEXT NOT NULL UNIQUE, therapistID TEXT NOT NULL,
                        clientID TEXT NOT NULL, type TEXT NOT NULL, startsAt REAL NOT NULL,
                        durationMinutes INTEGER NOT NULL, endedAt REAL, endedBy TEXT);
                    -- The change feed. AUTOINCREMENT: a sequence number is never reused, and SQLite's
                    -- single writer makes sequence order commit order, so a reader never skips one.
                    CREATE TABLE change (
                        seq INTEGER PRIMARY KEY AUTOINCREMENT, therapistID TEXT NOT NULL, clientID TEXT NOT NULL,
                        entity TEXT NOT NULL, entityID TEXT NOT NULL, deleted INTEGER NOT NULL DEFAULT 0,
                        payload TEXT, createdAt REAL NOT NULL);
                    CREATE INDEX change_for_therapist ON change (therapistID, seq);
                    CREATE INDEX change_for_client ON change (clientID, seq);
                    CREATE TABLE feedMeta (
                        singleton INTEGER PRIMARY KEY CHECK (singleton = 1), prunedThrough INTEGER NOT NULL);
                    INSERT INTO feedMeta VALUES (1, 0);
                    CREATE TABLE token (
                        hash TEXT PRIMARY KEY, userID TEXT NOT NULL, kind TEXT NOT NULL, family TEXT NOT NULL,
                        expiresAt REAL NOT NULL, used INTEGER NOT NULL DEFAULT 0);
                    CREATE INDEX token_by_family ON token (family);
                    CREATE TABLE idempotency (
                        userID TEXT NOT NULL, key TEXT NOT NULL, requestHash TEXT NOT NULL, status INTEGER NOT NULL,
                        body BLOB NOT NULL, createdAt REAL NOT NULL, PRIMARY KEY (userID, key));
                    CREATE INDEX idempotency_by_age ON idempotency (createdAt);
                    """)
        }
        migrator.registerMigration("0002-read-positions") { db in
            // R11: each person's read position per conversation, and the time each message was
            // read (stamped when its recipient's position passes it).
            try db.execute(
                sql: """
                    ALTER TABLE message ADD COLUMN readAt REAL;
                    CREATE TABLE readPosition (
                        conversationID TEXT NOT NULL, readerID TEXT NOT NULL, messageID TEXT NOT NULL,
                        upTo REAL NOT NULL, readAt REAL NOT NULL, PRIMARY KEY (conversationID, readerID));
                    """)
        }
        return migrator
    }
}
