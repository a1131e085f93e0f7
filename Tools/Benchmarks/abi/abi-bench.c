/*
 * The C side of Tools/Benchmarks/abi-benchmark.sh: through libplusguidance, the latest 50
 * messages (JSON included: the call, the copy out, pg_free) and send online, timed per call.
 *
 *   abi-bench SERVER PROFILE KEY_FILE ROUNDS
 *
 * Prints `name p50_us p99_us` lines, as abi-benchmark does for the Swift API.
 */
#define _POSIX_C_SOURCE 200809L
#include <plusguidance.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static int compare(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void report(const char *name, double *values, int count) {
    qsort(values, (size_t)count, sizeof *values, compare);
    printf("%s %.0f %.0f\n", name, values[(int)((count - 1) * 0.5 + 0.5)], values[(int)((count - 1) * 0.99 + 0.5)]);
}

int main(int argc, char **argv) {
    if (argc != 5) return 64;
    int rounds = atoi(argv[4]);
    char options[2048];
    snprintf(options, sizeof options, "{\"server\": \"%s\", \"profile\": \"%s\", \"keyFile\": \"%s\"}", argv[1],
             argv[2], argv[3]);
    pg_client *client;
    if (pg_client_open(&client, options) != PG_OK) {
        fprintf(stderr, "abi-bench: %s\n", pg_error_last()->message);
        return 70;
    }
    double *times = calloc((size_t)(rounds + rounds / 10), sizeof *times);
    int kept = 0;
    for (int round = 0; round < rounds + rounds / 10; round++) {
        char *messages = NULL;
        double start = now_us();
        int status = pg_client_messages(&messages, client, "alice@example.com", 50);
        size_t length = messages ? strlen(messages) : 0;
        pg_free(messages);
        double elapsed = now_us() - start;
        if (status != PG_OK || length < 100) {
            fprintf(stderr, "abi-bench: %s\n", pg_error_last()->message);
            return 70;
        }
        if (round >= rounds / 10) times[kept++] = elapsed;  // the first tenth warms up
    }
    report("abi-latest-50", times, kept);
    kept = 0;
    for (int round = 0; round < rounds / 4; round++) {
        char *message = NULL, text[32];
        snprintf(text, sizeof text, "abi %d", round);
        double start = now_us();
        int status = pg_client_send(&message, client, "alice@example.com", text);
        double elapsed = now_us() - start;
        if (status != PG_OK || !strstr(message, "\"deliveryState\":\"sent\"")) {
            fprintf(stderr, "abi-bench: send: %s\n", status ? pg_error_last()->message : "not delivered");
            return 70;
        }
        pg_free(message);
        times[kept++] = elapsed;
    }
    report("abi-send-online", times, kept);
    free(times);
    return pg_client_close(client);
}
