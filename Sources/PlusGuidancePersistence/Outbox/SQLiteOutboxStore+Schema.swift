import Foundation
import GRDB
@_spi(PlusGuidanceTools) import PlusGuidanceDomain

extension SQLiteOutboxStore {
    static func migrator(_ cipher: FieldCipher) -> DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("0001-initial") { db in
            // AUTOINCREMENT: a sequence number is never reused, even after its entry is removed,
            // so a re-enqueued key always goes to the end.
            try db.execute(
                sql: """
                    CREATE TABLE outbox (
                        sequence INTEGER PRIMARY KEY AUTOINCREMENT,
                        key TEXT NOT NULL UNIQUE,
                        action BLOB NOT NULL,
                        state TEXT NOT NULL,
                        attempts INTEGER NOT NULL,
                        lastErrorCode TEXT, lastErrorReason TEXT,
                        enqueuedAt REAL NOT NULL,
                        notBefore REAL);
                    """)
        }
        migrator.registerMigration("0002-conversation") { db in
            // Which conversation orders a message entry, so "is anything queued before this one?"
            // is one index lookup instead of decoding the whole outbox.
            try db.execute(
                sql: """
                    ALTER TABLE outbox ADD COLUMN conversationID TEXT;
                    CREATE INDEX outbox_by_conversation ON outbox (conversationID, sequence);
                    """)
            for row in try Row.fetchAll(db, sql: "SELECT key, action FROM outbox") {
                let action = try? JSONDecoder().decode(OutboxAction.self, from: row[1] as Data)
                try db.execute(
                    sql: "UPDATE outbox SET conversationID = ? WHERE key = ?",
                    arguments: [action?.orderingConversation?.rawValue, row[0] as String])
            }
        }
        migrator.registerMigration("0003-deadline") { db in
            // The server time after which an entry can only be refused (an accept's offer expiry).
            try db.execute(sql: "ALTER TABLE outbox ADD COLUMN deadline REAL")
        }
        migrator.registerMigration("0004-sealed-actions") { db in
            // Actions are sealed (FieldCipher) from now on; an outbox from before encryption has
            // its actions sealed here, and the file is then rewritten whole (DatabaseOpener).
            try DatabaseOpener.sealInPlace(db, table: "outbox", key: "key", column: "action", cipher: cipher)
        }
        migrator.registerMigration("0005-waiting") { db in
            // The entries that can stop their conversation (in flight, failed, waiting for a
            // backoff), so a delivery round finds each conversation's first one without reading
            // the entries queued behind it; the entries with a deadline; and the backoffs' ends,
            // for the sender's next wake.
            try db.execute(
                sql: """
                    CREATE INDEX outbox_waiting ON outbox (conversationID, sequence, state, notBefore)
                        WHERE state != 'pending' OR notBefore IS NOT NULL;
                    CREATE INDEX outbox_deadline ON outbox (sequence) WHERE deadline IS NOT NULL;
                    CREATE INDEX outbox_retry ON outbox (notBefore) WHERE state = 'pending' AND notBefore IS NOT NULL;
                    """)
        }
        migrator.registerMigration("0006-sealed-reasons") { db in
            // The server's reason for a failure is free text (R10): sealed like the action,
            // under its own associated data (reasonTable) so the two values cannot be swapped.
            try DatabaseOpener.sealInPlace(
                db, table: "outbox", key: "key", column: "lastErrorReason", associatedTable: reasonTable,
                cipher: cipher)
        }
        return migrator
    }

    /// The associated data's table of a sealed failure reason.
    static let reasonTable = "outbox.lastErrorReason"

    static func sealReason(_ reason: String?, key: String, _ cipher: FieldCipher) throws -> Data? {
        try reason.map { try cipher.sealString($0, table: reasonTable, row: key) }
    }
}
