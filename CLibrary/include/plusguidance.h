/*
 * plusguidance.h: the C library of PlusGuidanceKit (libplusguidance.so.0).
 *
 * Messaging and Instant Sessions between therapists and their clients, offline-first: a local
 * encrypted cache, an outbox that delivers exactly once, live updates. Documentation/C-API.md
 * has the conventions; in short:
 *
 * - Every call returns PG_OK (0) or a negative PG_E* status. pg_error_last() has the calling
 *   thread's last failure: its status, a stable code string and one line for people (never a
 *   message body, a name, a token or a password).
 * - Out-parameters come first, named `out` (`request` for an `_async` call's id). A string
 *   returned through `out` is the caller's, UTF-8 JSON in the shapes of `pg --json`
 *   (Documentation/C-API.md), freed with pg_free(). A pg_client is freed with pg_client_close().
 * - Handles may be used from any thread. Blocking calls block only the calling thread; the
 *   `_async` forms return at once and complete as an event. The library never calls the app:
 *   no callbacks, no thread of the app's is ever used by the library.
 * - Events wait behind one descriptor (pg_client_event_fd) for the app's main loop.
 */
#ifndef PLUSGUIDANCE_H
#define PLUSGUIDANCE_H

#include <stdint.h>

#define PG_VERSION "0.1.0"
#define PG_VERSION_MAJOR 0
#define PG_VERSION_MINOR 1
#define PG_VERSION_PATCH 0
/** MAJOR * 10000 + MINOR * 100 + PATCH, for `#if` checks. */
#define PG_VERSION_NUMBER (PG_VERSION_MAJOR * 10000 + PG_VERSION_MINOR * 100 + PG_VERSION_PATCH)

#ifdef __cplusplus
#define PG_BEGIN_DECL extern "C" {
#define PG_END_DECL }
#else
#define PG_BEGIN_DECL
#define PG_END_DECL
#endif

#define PG_EXTERN __attribute__((visibility("default")))

PG_BEGIN_DECL

/** Statuses: 0, or a negative code per class of error (`pg` exits 70, 64, 65, 69, 77 for them). */
typedef enum pg_status {
    PG_OK = 0,
    PG_ERROR = -1,          /**< anything else: storage, a server outside the contract… */
    PG_EINVALID = -2,       /**< bad usage: NULL, invalid UTF-8, bad JSON, out of range */
    PG_EREFUSED = -3,       /**< refused by a domain rule (client_offline, offer_expired…) */
    PG_EUNREACHABLE = -4,   /**< the server could not be reached, for a call that needs it */
    PG_EUNAUTHORIZED = -5,  /**< not signed in, bad credentials, the profile's key missing */
    PG_ECLOSED = -6         /**< a closed handle, or a pointer the library did not return */
} pg_status;

/** The calling thread's last failure. */
typedef struct pg_error {
    int status;          /**< a pg_status */
    const char *code;    /**< stable code, e.g. "client_offline"; "none" before any failure */
    const char *message; /**< one line for people */
} pg_error;

/** A client on one profile (a folder). */
typedef struct pg_client pg_client;

/** The library's version, "MAJOR.MINOR.PATCH" (PG_VERSION of the library that runs). */
PG_EXTERN const char *pg_version(void);

/**
 * The calling thread's last failure; kept until the thread's next failure.
 * @return never NULL; owned by the library, valid until the thread's next call.
 */
PG_EXTERN const pg_error *pg_error_last(void);

/**
 * Frees a string the library returned. NULL is 0.
 * @return 0, or PG_ECLOSED for a pointer it did not return or already freed (nothing freed).
 */
PG_EXTERN int pg_free(char *json);

/* ---- Opening a profile ------------------------------------------------------------------ */

/**
 * Opens a profile.
 * @param[out] out the client, NULL on failure; free it with pg_client_close().
 * @param options JSON: {"server": "http://…", "profile": "/path/dir"} and optionally
 *   "keyFile" (else $PG_KEY_FILE, $CREDENTIALS_DIRECTORY/plusguidance.key,
 *   $XDG_CONFIG_HOME/plusguidance/key; created 0600 on first use),
 *   "requestTimeoutSeconds" (0.1…3600) and "waitSeconds" (0…3600, default 10: how long a
 *   blocking write waits for the server's answer before it answers "queued").
 * @return 0, PG_EINVALID, PG_EUNAUTHORIZED (key missing or wrong), PG_ERROR (storage).
 */
PG_EXTERN int pg_client_open(pg_client **out, const char *options);

/**
 * Closes the client: cancels its pending `_async` calls, lets go of the profile, frees it.
 * @return 0 (NULL too), PG_ECLOSED for a handle closed already.
 */
PG_EXTERN int pg_client_close(pg_client *client);

/* ---- The account ------------------------------------------------------------------------ */

/**
 * Signs in, then syncs once (a failed first sync leaves the account signed in; the next sync
 * catches up). @param[out] out {id, email, role}. @return 0, PG_EUNAUTHORIZED, PG_EUNREACHABLE.
 */
PG_EXTERN int pg_client_sign_in(char **out, pg_client *client, const char *email, const char *password);
PG_EXTERN int pg_client_sign_in_async(uint64_t *request, pg_client *client, const char *email, const char *password);
/** Signs out: the profile's keys are destroyed first, then its cache and outbox. */
PG_EXTERN int pg_client_sign_out(pg_client *client);
/** @param[out] out {id, email, role}. @return 0, PG_EUNAUTHORIZED when nobody is signed in. */
PG_EXTERN int pg_client_whoami(char **out, pg_client *client);
/** Where the profile's key is looked for, never the key. @param[out] out {key, origin, exists}. */
PG_EXTERN int pg_client_key_show(char **out, pg_client *client);
/**
 * Re-wraps the profile's data keys under a new key (no data is rewritten).
 * @param new_key_file NULL: a new random key replaces the key file in place; else the file
 *   whose key (created 0600 when missing) opens the profile from now on.
 * @param[out] out {rewrapped, key}.
 */
PG_EXTERN int pg_client_key_rotate(char **out, pg_client *client, const char *new_key_file);

/* ---- Reads: the cache, offline too ------------------------------------------------------ */

/** @param[out] out [{id, email, name, online, unread}]: a therapist's clients, a client's therapist. */
PG_EXTERN int pg_client_clients(char **out, pg_client *client);
/**
 * The latest messages with `peer` (an e-mail or an id), oldest first.
 * @param limit 1…1000, 0 for 50. @param[out] out [message].
 * @return 0, PG_EREFUSED "not_a_contact", PG_EUNAUTHORIZED.
 */
PG_EXTERN int pg_client_messages(char **out, pg_client *client, const char *peer, int32_t limit);
/**
 * Offline search of every message the account can read: each word of `text` must begin a word
 * of the body, case and accents aside ("cafe resume" finds "Café résumé", "slee" finds
 * "SLEEPLESS"). Any text is a query: one without a letter or digit finds nothing.
 * @param peer NULL for every conversation, or an e-mail or id. @param limit 1…1000, 0 for 50.
 * @param[out] out [message with its `snippet`], the best match first, then the newest.
 * @return 0, PG_EREFUSED "not_a_contact" (peer), PG_EUNAUTHORIZED.
 */
PG_EXTERN int pg_client_search(char **out, pg_client *client, const char *text, const char *peer, int32_t limit);
/**
 * Fetches an older page of the conversation into the cache (needs the server).
 * @param limit 1…1000. @param[out] out how many messages arrived.
 */
PG_EXTERN int pg_client_load_older_messages(int32_t *out, pg_client *client, const char *peer, int32_t limit);
/** @param[out] out [offer], newest first. */
PG_EXTERN int pg_client_offers(char **out, pg_client *client);
/** Upcoming sessions, each with its countdown on the server's clock. @param[out] out [session]. */
PG_EXTERN int pg_client_sessions(char **out, pg_client *client);
/** One session with its countdown. @param[out] out session. @return 0, PG_EREFUSED "not_found". */
PG_EXTERN int pg_client_session(char **out, pg_client *client, const char *id);
/** @param[out] out {online, lastSyncAt, pendingOutbox, failedOutbox, serverTime}: serverTime is the
 *  server's clock as the device estimates it (BRIEF.md R12). */
PG_EXTERN int pg_client_status(char **out, pg_client *client);
/** @param[out] out [{id, action, state, attempts, error, enqueuedAt, messageId? / offerId? / sessionId?}]. */
PG_EXTERN int pg_client_outbox(char **out, pg_client *client);

/* ---- Writes ----------------------------------------------------------------------------- *
 * A blocking write waits up to "waitSeconds" for the server's answer, whichever process
 * delivers it; offline it is queued and answers 0 (a text `"deliveryState": "pending"`, an
 * action `"delivered": false`), delivered exactly once later. A refusal is PG_EREFUSED with
 * the rule's code, and the refused entry leaves the outbox. Each `_async` form checks its
 * arguments, returns at once with a request id (`request` may be NULL), and completes as the
 * event {"event": "completion", "request": ID, "ok": true, "result": …} or
 * {…, "ok": false, "error": {"status", "code", "message"}}.
 */

/** Sends a text. @param[out] out the message. */
PG_EXTERN int pg_client_send(char **out, pg_client *client, const char *peer, const char *text);
PG_EXTERN int pg_client_send_async(uint64_t *request, pg_client *client, const char *peer, const char *text);
/**
 * Offers an Instant Session; needs the server (the client must be online now), never queued.
 * @param options JSON {"type": "video"|"voice"|"chat", "durationMinutes": N,
 *   "requiresConfirmation": true, "startsAt": "ISO 8601" or null (now)}.
 * @param[out] out the offer. @return 0, PG_EINVALID, PG_EREFUSED ("client_offline", …), PG_EUNREACHABLE.
 */
PG_EXTERN int pg_client_offer(char **out, pg_client *client, const char *client_peer, const char *options);
PG_EXTERN int pg_client_offer_async(uint64_t *request, pg_client *client, const char *client_peer, const char *options);
/** Accepts an offer. @param[out] out its outbox entry with "delivered". */
PG_EXTERN int pg_client_accept(char **out, pg_client *client, const char *offer);
PG_EXTERN int pg_client_accept_async(uint64_t *request, pg_client *client, const char *offer);
/** Declines an offer. @param[out] out its outbox entry with "delivered". */
PG_EXTERN int pg_client_decline(char **out, pg_client *client, const char *offer);
PG_EXTERN int pg_client_decline_async(uint64_t *request, pg_client *client, const char *offer);
/** Stops a session (its therapist only). @param[out] out its outbox entry with "delivered". */
PG_EXTERN int pg_client_stop(char **out, pg_client *client, const char *session);
PG_EXTERN int pg_client_stop_async(uint64_t *request, pg_client *client, const char *session);
/** Marks the conversation read. @param[out] out the contact as this device now shows it. */
PG_EXTERN int pg_client_mark_read(char **out, pg_client *client, const char *peer);
PG_EXTERN int pg_client_mark_read_async(uint64_t *request, pg_client *client, const char *peer);
/** Sends a failed outbox entry again. @param[out] out the entry with "delivered". */
PG_EXTERN int pg_client_outbox_retry(char **out, pg_client *client, const char *id);
PG_EXTERN int pg_client_outbox_retry_async(uint64_t *request, pg_client *client, const char *id);
/** Drops an outbox entry. @return 0, PG_EINVALID "unknown_outbox_entry". */
PG_EXTERN int pg_client_outbox_discard(pg_client *client, const char *id);

/* ---- Sync, live, events ----------------------------------------------------------------- */

/** Delivers the outbox and pulls what changed. @param[out] out the status afterwards. */
PG_EXTERN int pg_client_sync(char **out, pg_client *client);
PG_EXTERN int pg_client_sync_async(uint64_t *request, pg_client *client);
/** Keeps the account live (which keeps a client online); beside pg-syncd, follows its cache. */
PG_EXTERN int pg_client_start_live(pg_client *client);
/** Stops the live connection; reads still work. */
PG_EXTERN int pg_client_stop_live(pg_client *client);

/**
 * The descriptor that is readable while events wait, for the app's main loop (poll, GLib
 * g_unix_fd_add, Qt QSocketNotifier, asyncio add_reader). The first call starts following the
 * account: `pg watch --json`'s events ({"event": "message"|"offer"|"session"|"presence", …})
 * and {"event": "status", "status": {…}}; completions arrive from the start. The library owns
 * the descriptor: do not read it or close it.
 * @param[out] out the descriptor.
 */
PG_EXTERN int pg_client_event_fd(int *out, pg_client *client);
/**
 * The next event, without blocking.
 * @param[out] out the event as JSON, or NULL when none waits (the descriptor is not readable).
 */
PG_EXTERN int pg_client_next_event(char **out, pg_client *client);

PG_END_DECL

#endif /* PLUSGUIDANCE_H */
