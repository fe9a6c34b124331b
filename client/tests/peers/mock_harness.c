/*
 * mock_harness: librdkafka's mock cluster on 127.0.0.1, driven by line
 * commands on stdin, for kwire-client's peer tests.
 *
 * Build (Debian librdkafka-dev, 2.0.2):
 *   gcc -O2 -Wall mock_harness.c -o mock-harness-2.0 -lrdkafka
 * Build against a newer librdkafka .so (2.16 from the confluent-kafka
 * wheel; Debian's headers are enough, the few newer prototypes are
 * declared below):
 *   gcc -O2 -Wall -DMOCK_HARNESS_NEW mock_harness.c -o mock-harness-2.16 \
 *       /path/librdkafka.so.1 -Wl,-rpath,/path
 *
 * Usage: mock_harness [-b N] [-D debugctx] [-a KEY:MIN:MAX]... [-e KEY:ERR[,ERR]...]...
 *   Line 1 of stdout: the bootstrap list. Line 2: "version <librdkafka version>".
 *   Then one command per stdin line, each answered by one "ok ..." or "err ..." line:
 *     a KEY:MIN:MAX          rd_kafka_mock_set_apiversion (-1:-1 removes the API)
 *     e KEY:ERR[,ERR...]     rd_kafka_mock_push_request_errors (cluster-wide FIFO)
 *     E BRK:KEY:ERR[,ERR...] rd_kafka_mock_broker_push_request_error_rtts (rtt 0)
 *     s BRK:KEY              rd_kafka_mock_broker_error_stack_cnt
 *     d BRK / u BRK          rd_kafka_mock_broker_set_down / _set_up
 *     t TOPIC:PARTS:RF       rd_kafka_mock_topic_create
 *     l TOPIC:PART:BRK       rd_kafka_mock_partition_set_leader (bumps the leader epoch)
 *     c group|transaction:KEY:BRK  rd_kafka_mock_coordinator_set
 *     r BRK:MS               rd_kafka_mock_broker_set_rtt
 *     T                      start request tracking (newer .so only)
 *     R                      print tracked requests: "req BROKER APIKEY" lines, then "ok N"
 *     q                      quit
 *   ERR is a number or a librdkafka error name (UNSUPPORTED_VERSION, _TRANSPORT, ...).
 *   The mock's own log (-D mock: "Received <Api>RequestV<n>") goes to stderr.
 *   SIGTERM/SIGINT or stdin EOF followed by a signal stop it.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#ifdef MOCK_HARNESS_NEW
/* Present in librdkafka >= 2.3, absent from Debian's 2.0.2 header. */
typedef struct rd_kafka_mock_request_s rd_kafka_mock_request_t;
void rd_kafka_mock_start_request_tracking(rd_kafka_mock_cluster_t *mcluster);
rd_kafka_mock_request_t **rd_kafka_mock_get_requests(rd_kafka_mock_cluster_t *mcluster, size_t *cntp);
int32_t rd_kafka_mock_request_id(rd_kafka_mock_request_t *mreq);
int16_t rd_kafka_mock_request_api_key(rd_kafka_mock_request_t *mreq);
void rd_kafka_mock_request_destroy_array(rd_kafka_mock_request_t **mreqs, size_t mreq_cnt);
#endif

static volatile sig_atomic_t stop = 0;

static void on_signal(int sig) {
        (void)sig;
        stop = 1;
}

static int parse_err(const char *s, rd_kafka_resp_err_t *out) {
        char *end;
        long v = strtol(s, &end, 10);
        if (*s && *end == '\0') {
                *out = (rd_kafka_resp_err_t)v;
                return 0;
        }
        const struct rd_kafka_err_desc *descs;
        size_t cnt;
        rd_kafka_get_err_descs(&descs, &cnt);
        for (size_t i = 0; i < cnt; i++) {
                if (descs[i].name && strcmp(descs[i].name, s) == 0) {
                        *out = descs[i].code;
                        return 0;
                }
        }
        return -1;
}

/* Parses "ERR[,ERR...]" into errs (max 64). */
static int parse_errs(char *s, rd_kafka_resp_err_t *errs, size_t *cnt) {
        *cnt = 0;
        for (char *tok = strtok(s, ","); tok; tok = strtok(NULL, ",")) {
                if (*cnt >= 64 || parse_err(tok, &errs[*cnt]) != 0)
                        return -1;
                (*cnt)++;
        }
        return *cnt ? 0 : -1;
}

static int cmd_apiversion(rd_kafka_mock_cluster_t *mc, const char *arg) {
        int k, mn, mx;
        if (sscanf(arg, "%d:%d:%d", &k, &mn, &mx) != 3)
                return -1;
        return rd_kafka_mock_set_apiversion(mc, (int16_t)k, (int16_t)mn, (int16_t)mx) ? -1 : 0;
}

static int cmd_errors(rd_kafka_mock_cluster_t *mc, char *arg) {
        int k;
        char *colon = strchr(arg, ':');
        if (!colon || sscanf(arg, "%d", &k) != 1)
                return -1;
        rd_kafka_resp_err_t errs[64];
        size_t cnt;
        if (parse_errs(colon + 1, errs, &cnt))
                return -1;
        rd_kafka_mock_push_request_errors_array(mc, (int16_t)k, cnt, errs);
        return 0;
}

static int cmd_broker_errors(rd_kafka_mock_cluster_t *mc, char *arg) {
        int b, k;
        char *c1 = strchr(arg, ':');
        char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2 || sscanf(arg, "%d:%d", &b, &k) != 2)
                return -1;
        rd_kafka_resp_err_t errs[64];
        size_t cnt;
        if (parse_errs(c2 + 1, errs, &cnt))
                return -1;
        for (size_t i = 0; i < cnt; i++)
                if (rd_kafka_mock_broker_push_request_error_rtts(mc, b, (int16_t)k, 1, errs[i], 0))
                        return -1;
        return 0;
}

/* Splits "NAME:A:B" (NAME may hold colons) at its last two colons. */
static int split_name_2(char *arg, int *a, int *b) {
        char *c2 = strrchr(arg, ':');
        if (!c2)
                return -1;
        *c2 = '\0';
        char *c1 = strrchr(arg, ':');
        if (!c1)
                return -1;
        *c1 = '\0';
        *a = atoi(c1 + 1);
        *b = atoi(c2 + 1);
        return 0;
}

/* "TOPIC:PARTS:RF" */
static int cmd_topic(rd_kafka_mock_cluster_t *mc, char *arg) {
        int parts, rf;
        if (split_name_2(arg, &parts, &rf))
                return -1;
        return rd_kafka_mock_topic_create(mc, arg, parts, rf) ? -1 : 0;
}

/* "TOPIC:PART:BRK" */
static int cmd_leader(rd_kafka_mock_cluster_t *mc, char *arg) {
        int part, broker;
        if (split_name_2(arg, &part, &broker))
                return -1;
        return rd_kafka_mock_partition_set_leader(mc, arg, part, broker) ? -1 : 0;
}

/* "group|transaction:KEY:BRK" */
static int cmd_coordinator(rd_kafka_mock_cluster_t *mc, char *arg) {
        char *c1 = strchr(arg, ':');
        char *c2 = strrchr(arg, ':');
        if (!c1 || c2 == c1)
                return -1;
        *c1 = '\0';
        *c2 = '\0';
        return rd_kafka_mock_coordinator_set(mc, arg, c1 + 1, atoi(c2 + 1)) ? -1 : 0;
}

int main(int argc, char **argv) {
        int brokers = 1;
        const char *debug = NULL;
        char *apiversions[64];
        int n_apiversions = 0;
        char *errors[64];
        int n_errors = 0;
        int opt;
        while ((opt = getopt(argc, argv, "b:D:a:e:")) != -1) {
                switch (opt) {
                case 'b': brokers = atoi(optarg); break;
                case 'D': debug = optarg; break;
                case 'a': if (n_apiversions < 64) apiversions[n_apiversions++] = optarg; break;
                case 'e': if (n_errors < 64) errors[n_errors++] = optarg; break;
                default:
                        fprintf(stderr, "usage: %s [-b N] [-D debug] [-a KEY:MIN:MAX]... [-e KEY:ERR,...]...\n", argv[0]);
                        return 2;
                }
        }

        /* No SA_RESTART: a blocking fgets on stdin returns on SIGTERM. */
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_signal;
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);

        char errstr[512];
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        if (debug && rd_kafka_conf_set(conf, "debug", debug, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
                fprintf(stderr, "mock_harness: %s\n", errstr);
                return 1;
        }
        rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
        if (!rk) {
                fprintf(stderr, "mock_harness: %s\n", errstr);
                return 1;
        }
        rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, brokers);
        if (!mc) {
                fprintf(stderr, "mock_harness: cannot create the mock cluster\n");
                return 1;
        }
        for (int i = 0; i < n_apiversions; i++)
                if (cmd_apiversion(mc, apiversions[i])) {
                        fprintf(stderr, "mock_harness: bad -a %s\n", apiversions[i]);
                        return 2;
                }
        for (int i = 0; i < n_errors; i++)
                if (cmd_errors(mc, errors[i])) {
                        fprintf(stderr, "mock_harness: bad -e %s\n", errors[i]);
                        return 2;
                }

        printf("%s\n", rd_kafka_mock_cluster_bootstraps(mc));
        printf("version %s\n", rd_kafka_version_str());
        fflush(stdout);
        fprintf(stderr, "mock_harness: librdkafka %s, %d broker(s)\n", rd_kafka_version_str(), brokers);

        char line[4096];
        int eof = 0;
        while (!stop) {
                if (eof) {
                        pause();
                        continue;
                }
                if (!fgets(line, sizeof(line), stdin)) {
                        if (errno == EINTR && !feof(stdin)) {
                                clearerr(stdin);
                                continue;
                        }
                        eof = 1;
                        continue;
                }
                line[strcspn(line, "\r\n")] = '\0';
                char *arg = line + 1;
                while (*arg == ' ')
                        arg++;
                int rc = 0;
                switch (line[0]) {
                case '\0': continue;
                case 'a': rc = cmd_apiversion(mc, arg); break;
                case 'e': rc = cmd_errors(mc, arg); break;
                case 'E': rc = cmd_broker_errors(mc, arg); break;
                case 'd': rc = rd_kafka_mock_broker_set_down(mc, atoi(arg)) ? -1 : 0; break;
                case 'u': rc = rd_kafka_mock_broker_set_up(mc, atoi(arg)) ? -1 : 0; break;
                case 't': rc = cmd_topic(mc, arg); break;
                case 'l': rc = cmd_leader(mc, arg); break;
                case 'c': rc = cmd_coordinator(mc, arg); break;
                case 'r': {
                        int b, ms;
                        rc = sscanf(arg, "%d:%d", &b, &ms) == 2 && !rd_kafka_mock_broker_set_rtt(mc, b, ms) ? 0 : -1;
                        break;
                }
                case 's': {
                        int b, k;
                        size_t cnt = 0;
                        if (sscanf(arg, "%d:%d", &b, &k) != 2 ||
                            rd_kafka_mock_broker_error_stack_cnt(mc, b, (int16_t)k, &cnt)) {
                                rc = -1;
                                break;
                        }
                        printf("ok stack %zu\n", cnt);
                        fflush(stdout);
                        continue;
                }
#ifdef MOCK_HARNESS_NEW
                case 'T': rd_kafka_mock_start_request_tracking(mc); break;
                case 'R': {
                        size_t cnt = 0;
                        rd_kafka_mock_request_t **reqs = rd_kafka_mock_get_requests(mc, &cnt);
                        for (size_t i = 0; i < cnt; i++)
                                printf("req %d %d\n", (int)rd_kafka_mock_request_id(reqs[i]),
                                       (int)rd_kafka_mock_request_api_key(reqs[i]));
                        if (reqs)
                                rd_kafka_mock_request_destroy_array(reqs, cnt);
                        printf("ok %zu\n", cnt);
                        fflush(stdout);
                        continue;
                }
#endif
                case 'q': stop = 1; break;
                default: rc = -1; break;
                }
                printf(rc ? "err %s\n" : "ok %s\n", line);
                fflush(stdout);
        }
        rd_kafka_mock_cluster_destroy(mc);
        rd_kafka_destroy(rk);
        return 0;
}
