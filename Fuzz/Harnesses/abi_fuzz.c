/*
 * libFuzzer harness for the C library's JSON and string arguments: each input is given, as
 * it is, as pg_client_open's options, as an offer's options and client, as a text and its
 * peer, as ids to accept, read and discard, synchronously and in the _async forms. The oracle:
 * never a crash (libFuzzer sees those), every status one of plusguidance.h's, an error always
 * with a code and a message, and a text's content never in an error message. The library is
 * not instrumented (a SwiftPM product); the harness is, and the seeds and the JSON dictionary
 * steer the mutations.
 *
 * The client is opened on a temporary profile, signed out, against a closed port: nothing
 * reaches a network, and no input can name a profile (inputs holding "profile" are skipped by
 * pg_client_open here, so a fuzzed path never becomes a folder).
 */
#include <plusguidance.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pg_client *client;

static void check(int status, const char *call, const char *input) {
    if (status == PG_OK) return;
    if (status < PG_ECLOSED || status > PG_ERROR) {
        fprintf(stderr, "%s: status %d is not one of plusguidance.h's\n", call, status);
        abort();
    }
    const pg_error *error = pg_error_last();
    if (!error || !error->code || !error->message || !*error->code || error->status != status) {
        fprintf(stderr, "%s: status %d without its error\n", call, status);
        abort();
    }
    if (input && strlen(input) >= 8 && strstr(error->message, input)) {
        fprintf(stderr, "%s: the error message repeats the text: %s\n", call, error->message);
        abort();
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    char folder[] = "/tmp/pg-abi-fuzz-XXXXXX";
    if (!mkdtemp(folder)) abort();
    char options[512];
    snprintf(options, sizeof options,
        "{\"server\": \"http://127.0.0.1:9\", \"profile\": \"%s/profile\", \"keyFile\": \"%s/key\","
        " \"requestTimeoutSeconds\": 0.2, \"waitSeconds\": 0}", folder, folder);
    if (pg_client_open(&client, options) != PG_OK) {
        fprintf(stderr, "cannot open the fuzz profile: %s\n", pg_error_last()->message);
        abort();
    }
    int fd;
    if (pg_client_event_fd(&fd, client) != PG_OK) abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    char *out = NULL;
    uint64_t request;

    if (!strstr(text, "profile")) {
        pg_client *other = NULL;
        int status = pg_client_open(&other, text);
        check(status, "pg_client_open", NULL);
        if (status == PG_OK) pg_client_close(other);
    }
    check(pg_client_offer(&out, client, "alice@example.com", text), "pg_client_offer", NULL);
    pg_free(out);
    out = NULL;
    check(pg_client_offer(&out, client, text, "{\"type\": \"video\", \"durationMinutes\": 30}"), "pg_client_offer", NULL);
    pg_free(out);
    out = NULL;
    check(pg_client_offer_async(&request, client, text, text), "pg_client_offer_async", NULL);
    check(pg_client_send(&out, client, "therapist@example.com", text), "pg_client_send", text);
    pg_free(out);
    out = NULL;
    check(pg_client_send_async(&request, client, text, text), "pg_client_send_async", text);
    check(pg_client_accept(&out, client, text), "pg_client_accept", NULL);
    pg_free(out);
    out = NULL;
    check(pg_client_messages(&out, client, text, (int32_t)size), "pg_client_messages", NULL);
    pg_free(out);
    out = NULL;
    check(pg_client_outbox_discard(client, text), "pg_client_outbox_discard", NULL);
    check(pg_client_session(&out, client, text), "pg_client_session", NULL);
    pg_free(out);
    out = NULL;
    // The completions of the _async calls: each a JSON object, freed.
    char *event;
    while (pg_client_next_event(&event, client) == PG_OK && event) {
        if (event[0] != '{') abort();
        pg_free(event);
    }
    free(text);
    return 0;
}
