/*
 * offer: a therapist offers an Instant Session and waits for the client's answer on the
 * library's event descriptor with poll(2), never blocking on the network.
 *
 *   cc offer.c $(pkg-config --cflags --libs plusguidance) -o offer
 *   echo therapist-pass | ./offer http://127.0.0.1:8080 /tmp/therapist therapist@example.com alice@example.com
 *
 * Prints "offered OFFER_ID", then "accepted SESSION_ID", "declined" or "expired" when the client
 * answers (or the hour passes). Exit codes as pg's: 0 done, 64 usage, 65 refused, 69 server
 * unreachable, 77 not signed in, 70 anything else.
 */
#include <plusguidance.h>

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int exit_code(int status) {
    switch (status) {
    case PG_EINVALID: return 64;
    case PG_EREFUSED: return 65;
    case PG_EUNREACHABLE: return 69;
    case PG_EUNAUTHORIZED: return 77;
    default: return 70;
    }
}

/* One line on stderr with the library's code and reason, and pg's exit code. */
static int fail(const char *what, int status) {
    const pg_error *error = pg_error_last();
    fprintf(stderr, "offer: %s: %s\n", what, error->message);
    return exit_code(status);
}

/* The string value of `"key":"…"` in a flat JSON object (ids and states hold no quotes). */
static int json_string(const char *json, const char *key, char *value, size_t size) {
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\":\"", key);
    const char *start = strstr(json, pattern);
    if (!start) return 0;
    start += strlen(pattern);
    const char *end = strchr(start, '"');
    if (!end || (size_t)(end - start) >= size) return 0;
    memcpy(value, start, (size_t)(end - start));
    value[end - start] = '\0';
    return 1;
}

/* Waits for the event that answers `offer_id`; prints it. */
static int wait_for_answer(pg_client *client, const char *offer_id) {
    int fd;
    int status = pg_client_event_fd(&fd, client);
    if (status != PG_OK) return fail("event descriptor", status);
    for (;;) {
        struct pollfd readable = {.fd = fd, .events = POLLIN};
        if (poll(&readable, 1, -1) < 0) return 70;
        char *event;
        while ((status = pg_client_next_event(&event, client)) == PG_OK && event) {
            char kind[32], id[128], state[32], session[128];
            int answered = strstr(event, "\"event\":\"offer\"") && json_string(event, "id", id, sizeof id)
                           && strcmp(id, offer_id) == 0 && json_string(event, "state", state, sizeof state)
                           && strcmp(state, "pending") != 0 && json_string(event, "event", kind, sizeof kind);
            if (answered) {
                if (strcmp(state, "accepted") == 0 && json_string(event, "sessionId", session, sizeof session))
                    printf("accepted %s\n", session);
                else
                    printf("%s\n", state);
                pg_free(event);
                return 0;
            }
            pg_free(event);
        }
        if (status != PG_OK) return fail("next event", status);
    }
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: echo PASSWORD | offer SERVER PROFILE THERAPIST_EMAIL CLIENT_EMAIL\n");
        return 64;
    }
    char password[256];
    if (!fgets(password, sizeof password, stdin)) return 64;
    password[strcspn(password, "\n")] = '\0';

    char options[4096];
    snprintf(options, sizeof options, "{\"server\": \"%s\", \"profile\": \"%s\"}", argv[1], argv[2]);
    pg_client *client;
    int status = pg_client_open(&client, options);
    if (status != PG_OK) return fail("open", status);

    char *account = NULL, *offer = NULL;
    int code = 0;
    if ((status = pg_client_sign_in(&account, client, argv[3], password)) != PG_OK) {
        code = fail("sign in", status);
    } else if ((status = pg_client_offer(&offer, client, argv[4],
                    "{\"type\": \"video\", \"durationMinutes\": 50, \"requiresConfirmation\": true}"))
               != PG_OK) {
        code = fail("offer", status);
    } else {
        char offer_id[128];
        json_string(offer, "id", offer_id, sizeof offer_id);
        printf("offered %s\n", offer_id);
        fflush(stdout);
        // Live, so the answer reaches the cache, and the descriptor, as it happens.
        if ((status = pg_client_start_live(client)) != PG_OK) code = fail("live", status);
        else code = wait_for_answer(client, offer_id);
    }
    memset(password, 0, sizeof password);
    pg_free(account);
    pg_free(offer);
    pg_client_close(client);
    return code;
}
