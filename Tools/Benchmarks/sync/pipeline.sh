#!/usr/bin/env bash
# The C pipeline an initial sync is compared with (issue "Sync", benchmark 1): curl fetches the
# feed pages one after another while one sqlite3 process inserts them, ten pages per
# transaction, with json_each into the cache's own schema (the same tables and indexes, dates
# parsed to the same REAL seconds). It does the same work as the SDK minus Swift.
#
#   PG_TOKEN=ACCESS_TOKEN Benchmarks/sync/pipeline.sh URL DATABASE SCHEMA_SQL [PAGES_DIR]
#       the pipeline; with PAGES_DIR, the fetched pages are kept there. The token comes from
#       the environment and reaches curl through a 0600 header file, never a command line
#       (which every user of the machine can read in /proc).
#   Benchmarks/sync/pipeline.sh --import-only PAGES_DIR DATABASE SCHEMA_SQL
#       sqlite3 alone, inserting pages fetched before: the insert side's own limit
set -euo pipefail
if [ "$1" = --import-only ]; then
    pages="$2" database="$3" schema="$4"
else
    url="$1" database="$2" schema="$3" pages="${4:-}"
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
if [ -n "${url:-}" ]; then
    (umask 077 && printf 'Authorization: Bearer %s\n' "${PG_TOKEN:?PG_TOKEN is not set}" > "$work/auth")
fi
rm -f "$database"
sqlite3 "$database" < "$schema"

# sqlite3 reads SQL from a FIFO while curl fetches: fetching and inserting overlap.
mkfifo "$work/sql"
sqlite3 "$database" < "$work/sql" &
writer=$!
exec 3>"$work/sql"
echo "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-16384;" >&3

seconds() { echo "(julianday($1) - 2451910.5) * 86400.0"; }
insert_page() {
    local page="$1" changes="json_each(readfile('$1'), '\$.changes')"
    cat >&3 <<SQL
INSERT OR REPLACE INTO user (id, emailIndex, identity, role)
    SELECT value->>'\$.user.id', value->>'\$.user.email', json_array(value->>'\$.user.email', value->>'\$.user.name'),
        value->>'\$.user.role'
    FROM $changes WHERE value->>'\$.entity' = 'user' AND value->>'\$.op' = 'upsert';
INSERT OR REPLACE INTO message (id, conversationID, senderID, recipientID, kind, body, createdAt, offerID, sessionID, deliveryState)
    SELECT value->>'\$.message.id', value->>'\$.message.conversationId', value->>'\$.message.senderId',
        value->>'\$.message.recipientId', value->>'\$.message.kind', value->>'\$.message.body',
        $(seconds "value->>'\$.message.createdAt'"), value->>'\$.message.offerId', value->>'\$.message.sessionId', 'sent'
    FROM $changes WHERE value->>'\$.entity' = 'message' AND value->>'\$.op' = 'upsert';
INSERT OR REPLACE INTO offer (id, therapistID, clientID, details, startsAt, state, createdAt, expiresAt, closedAt, sessionID)
    SELECT value->>'\$.offer.id', value->>'\$.offer.therapistId', value->>'\$.offer.clientId',
        (value->>'\$.offer.type') || char(10) || (value->>'\$.offer.durationMinutes') || char(10) || (value->>'\$.offer.requiresConfirmation'),
        $(seconds "value->>'\$.offer.startsAt'"),
        value->>'\$.offer.state', $(seconds "value->>'\$.offer.createdAt'"), $(seconds "value->>'\$.offer.expiresAt'"),
        $(seconds "value->>'\$.offer.closedAt'"), value->>'\$.offer.sessionId'
    FROM $changes WHERE value->>'\$.entity' = 'offer' AND value->>'\$.op' = 'upsert';
INSERT OR REPLACE INTO session (id, offerID, therapistID, clientID, details, startsAt, endedAt, endedBy)
    SELECT value->>'\$.session.id', value->>'\$.session.offerId', value->>'\$.session.therapistId', value->>'\$.session.clientId',
        (value->>'\$.session.type') || char(10) || (value->>'\$.session.durationMinutes'), $(seconds "value->>'\$.session.startsAt'"),
        $(seconds "value->>'\$.session.endedAt'"), value->>'\$.session.endedBy'
    FROM $changes WHERE value->>'\$.entity' = 'session' AND value->>'\$.op' = 'upsert';
SQL
}

if [ "$1" = --import-only ]; then
    count="$(ls "$pages" | wc -l)"
    for ((page = 0; page < count; page++)); do
        [ $((page % 10)) -eq 0 ] && echo "BEGIN;" >&3
        insert_page "$pages/page-$page.json"
        [ $((page % 10)) -eq 9 ] || [ $((page + 1)) -eq "$count" ] && echo "COMMIT;" >&3
    done
    exec 3>&-
    wait "$writer"
    echo "pages=$count"
    exit 0
fi

[ -z "$pages" ] || mkdir -p "$pages"
cursor="" page=0 more=true
while $more; do
    file="${pages:-$work}/page-$page.json"
    curl -sf -o "$file" -H @"$work/auth" "$url/v1/changes?limit=500${cursor:+&after=$cursor}"
    tail="$(tail -c 120 "$file")"
    [[ "$tail" =~ \"cursor\":\"([^\"]+)\",\"hasMore\":(true|false) ]] || { echo "unexpected page: $tail" >&2; exit 1; }
    cursor="${BASH_REMATCH[1]}"
    [ "${BASH_REMATCH[2]}" = true ] || more=false
    [ $((page % 10)) -eq 0 ] && echo "BEGIN;" >&3
    insert_page "$file"
    if [ $((page % 10)) -eq 9 ] || ! $more; then
        echo "UPDATE syncState SET cursor = '$cursor'; COMMIT;" >&3
    fi
    page=$((page + 1))
done
exec 3>&-
wait "$writer"
echo "pages=$page"
