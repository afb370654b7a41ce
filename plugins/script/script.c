/* plugins/script/script.c — "nnxr.script": commands on a timetable, for headless demos,
 * benchmarks and tests that drive a run the way a user's hands would (pause, change a
 * hyperparameter, add or remove a neuron, set a neuron's links, evaluate, annotate a sphere,
 * undo, screenshot, quit). Each entry of `commands` is "FRAME COMMAND ARGS...", e.g.
 * "120 set_hparam lr 0.01"; every command is pushed through the "nnxr.commands" service at
 * the start of its frame (before the app applies commands), so it takes effect between
 * optimizer steps exactly like a gesture's. A command the scene cannot carry out is refused
 * by the host and logged; the run goes on. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nnxr/plugin.h"

#define MAX_ARGS 64

typedef struct entry {
    uint64_t frame;
    nnxr_command cmd;
    float *values;  /* set_weights */
    char text[96];  /* the entry as written, for messages */
} entry;

typedef struct script {
    const nnxr_host *host;
    const nnxr_log_api *log;
    const nnxr_metrics_api *metrics;
    const nnxr_commands_api *commands;
    entry *entries;  /* sorted by frame; equal frames keep the file's order */
    size_t count;
    size_t next;
    double pushed, refused;
} script;

typedef struct kind_spec {
    const char *name;
    nnxr_command_kind kind;
    const char *args; /* the arguments, for messages and for counting */
    int min_args, max_args;
} kind_spec;

static const kind_spec kinds[] = {
    {"pause", NNXR_CMD_PAUSE, "", 0, 0},
    {"resume", NNXR_CMD_RESUME, "", 0, 0},
    {"toggle_pause", NNXR_CMD_TOGGLE_PAUSE, "", 0, 0},
    {"quit", NNXR_CMD_QUIT, "", 0, 0},
    {"screenshot", NNXR_CMD_SCREENSHOT, "", 0, 0},
    {"evaluate", NNXR_CMD_EVALUATE, "", 0, 0},
    {"set_hparam", NNXR_CMD_SET_HPARAM, "NAME VALUE", 2, 2},
    {"add_neuron", NNXR_CMD_ADD_NEURON, "LAYER", 1, 1},
    {"remove_neuron", NNXR_CMD_REMOVE_NEURON, "LAYER INDEX", 2, 2},
    {"set_weights", NNXR_CMD_SET_WEIGHTS, "LAYER INDEX W...", 3, MAX_ARGS},
    {"annotate_sphere", NNXR_CMD_ANNOTATE_SPHERE, "X Y Z RADIUS LABEL", 5, 5},
    {"unlabel_sphere", NNXR_CMD_UNLABEL_SPHERE, "X Y Z RADIUS", 4, 4},
    {"undo_annotation", NNXR_CMD_UNDO_ANNOTATION, "", 0, 0},
};
#define KIND_COUNT (sizeof kinds / sizeof kinds[0])

static bool fail(nnxr_error *err, const char *where, size_t i, const char *text, const char *why)
{
    snprintf(err->message, sizeof err->message, "%s commands[%zu] \"%s\": %s", where, i, text,
             why);
    return false;
}

static bool parse_number(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || errno == ERANGE || !isfinite(v))
        return false;
    *out = v;
    return true;
}

static bool parse_int(const char *s, long long lo, long long hi, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end || errno == ERANGE || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

/* One entry: "FRAME COMMAND ARGS...", separated by spaces or tabs. */
static bool parse_entry(const char *where, size_t i, const char *text, entry *e, nnxr_error *err)
{
    snprintf(e->text, sizeof e->text, "%s", text);
    char buf[1024];
    if (strlen(text) >= sizeof buf)
        return fail(err, where, i, e->text, "longer than 1023 characters");
    snprintf(buf, sizeof buf, "%s", text);
    char *tok[MAX_ARGS + 2];
    int n = 0;
    for (char *save = NULL, *t = strtok_r(buf, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
        if (n == MAX_ARGS + 2)
            return fail(err, where, i, e->text, "too many words");
        tok[n++] = t;
    }
    if (n < 2)
        return fail(err, where, i, e->text, "expected \"FRAME COMMAND ARGS...\"");
    long long frame;
    if (!parse_int(tok[0], 0, INT64_MAX, &frame))
        return fail(err, where, i, e->text, "the first word must be a frame number (>= 0)");
    e->frame = (uint64_t)frame;
    const kind_spec *k = NULL;
    for (size_t j = 0; j < KIND_COUNT; j++)
        if (!strcmp(tok[1], kinds[j].name))
            k = &kinds[j];
    if (!k) {
        char why[600];
        int at = snprintf(why, sizeof why, "unknown command '%s', expected one of", tok[1]);
        for (size_t j = 0; j < KIND_COUNT && at < (int)sizeof why; j++)
            at += snprintf(why + at, sizeof why - (size_t)at, "%s %s", j ? "," : "",
                           kinds[j].name);
        return fail(err, where, i, e->text, why);
    }
    int nargs = n - 2;
    char **a = tok + 2;
    if (nargs < k->min_args || nargs > k->max_args) {
        char why[200];
        snprintf(why, sizeof why, "%s takes %s%s", k->name, k->args[0] ? "" : "no arguments",
                 k->args);
        return fail(err, where, i, e->text, why);
    }
    nnxr_command *c = &e->cmd;
    memset(c, 0, sizeof *c);
    c->kind = k->kind;
    double v[MAX_ARGS];
    long long l0 = 0, l1 = 0;
    switch (k->kind) {
    case NNXR_CMD_SET_HPARAM:
        if (strlen(a[0]) >= sizeof c->name)
            return fail(err, where, i, e->text, "the hyperparameter's name is too long");
        snprintf(c->name, sizeof c->name, "%s", a[0]);
        if (!parse_number(a[1], &c->value))
            return fail(err, where, i, e->text, "VALUE must be a finite number");
        break;
    case NNXR_CMD_ADD_NEURON:
        if (!parse_int(a[0], 0, 1000, &l0))
            return fail(err, where, i, e->text, "LAYER must be a hidden layer's index (>= 0)");
        c->layer = (int32_t)l0;
        break;
    case NNXR_CMD_REMOVE_NEURON:
    case NNXR_CMD_SET_WEIGHTS:
        if (!parse_int(a[0], 0, 1000, &l0) || !parse_int(a[1], 0, INT32_MAX, &l1))
            return fail(err, where, i, e->text,
                        "LAYER and INDEX must be integers (>= 0): a hidden layer and a neuron");
        c->layer = (int32_t)l0;
        c->index = (int32_t)l1;
        if (k->kind == NNXR_CMD_SET_WEIGHTS) {
            e->values = malloc((size_t)(nargs - 2) * sizeof *e->values);
            if (!e->values)
                return fail(err, where, i, e->text, "out of memory");
            for (int j = 2; j < nargs; j++) {
                if (!parse_number(a[j], &v[0]))
                    return fail(err, where, i, e->text, "every weight must be a finite number");
                e->values[j - 2] = (float)v[0];
            }
            c->value_count = (size_t)(nargs - 2);
        }
        break;
    case NNXR_CMD_ANNOTATE_SPHERE:
    case NNXR_CMD_UNLABEL_SPHERE:
        for (int j = 0; j < 4; j++)
            if (!parse_number(a[j], &v[j]))
                return fail(err, where, i, e->text, "X, Y, Z and RADIUS must be finite numbers");
        if (v[3] <= 0)
            return fail(err, where, i, e->text, "RADIUS must be > 0");
        for (int j = 0; j < 3; j++)
            c->center[j] = (float)v[j];
        c->radius = (float)v[3];
        if (k->kind == NNXR_CMD_ANNOTATE_SPHERE) {
            if (!parse_int(a[4], 0, INT32_MAX, &l0))
                return fail(err, where, i, e->text, "LABEL must be a class (an integer >= 0)");
            c->label = (int32_t)l0;
        } else {
            c->label = -1;
        }
        break;
    default:
        break;
    }
    return true;
}

static int by_frame(const void *pa, const void *pb)
{
    const entry *a = pa, *b = pb;
    return a->frame < b->frame ? -1 : a->frame > b->frame;
}

static void free_script(script *s)
{
    for (size_t i = 0; i < s->count; i++)
        free(s->entries[i].values);
    free(s->entries);
    free(s);
}

static void *create(const nnxr_host *host, const nnxr_config *cfg, nnxr_error *err)
{
    static const char *const keys[] = {"commands", NULL};
    const nnxr_config_api *c = host->service(host, NNXR_SERVICE_CONFIG);
    if (!c) {
        snprintf(err->message, sizeof err->message, "the host has no config service");
        return NULL;
    }
    script *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err->message, sizeof err->message, "out of memory");
        return NULL;
    }
    s->host = host;
    s->log = host->service(host, NNXR_SERVICE_LOG);
    s->metrics = host->service(host, NNXR_SERVICE_METRICS);
    s->commands = host->service(host, NNXR_SERVICE_COMMANDS);
    enum { MAX_ENTRIES = 4096 };
    const char **text = malloc(MAX_ENTRIES * sizeof *text);
    size_t n = 0;
    if (!text) {
        snprintf(err->message, sizeof err->message, "out of memory");
        free(s);
        return NULL;
    }
    if (!c->check_keys(cfg, keys, err) ||
        !c->get_string_array(cfg, "commands", NULL, 0, 0, MAX_ENTRIES, NULL, text, &n, err)) {
        free(text);
        free(s);
        return NULL;
    }
    if (n && !s->commands) {
        snprintf(err->message, sizeof err->message,
                 "%s: the host has no commands service to push the script's commands to",
                 c->describe(cfg));
        free(text);
        free(s);
        return NULL;
    }
    s->entries = calloc(n ? n : 1, sizeof *s->entries);
    if (!s->entries) {
        snprintf(err->message, sizeof err->message, "out of memory");
        free(text);
        free(s);
        return NULL;
    }
    s->count = n;
    for (size_t i = 0; i < n; i++)
        if (!parse_entry(c->describe(cfg), i, text[i], &s->entries[i], err)) {
            free(text);
            free_script(s);
            return NULL;
        }
    free(text);
    /* A stable sort by frame: insertion sort keeps equal frames in the written order (qsort
     * would not), and scripts are short. */
    for (size_t i = 1; i < n; i++) {
        entry e = s->entries[i];
        size_t j = i;
        while (j > 0 && by_frame(&s->entries[j - 1], &e) > 0) {
            s->entries[j] = s->entries[j - 1];
            j--;
        }
        s->entries[j] = e;
    }
    return s;
}

static void destroy(void *self)
{
    free_script(self);
}

static void update(void *self, const nnxr_frame *frame)
{
    script *s = self;
    /* Entries whose frame has passed (a run started later, or frames skipped) run now, in
     * order, rather than never. */
    while (s->next < s->count && s->entries[s->next].frame <= frame->index) {
        entry *e = &s->entries[s->next++];
        e->cmd.values = e->values;
        nnxr_error err;
        err.message[0] = '\0';
        char msg[1400];
        if (s->commands->push(s->host, &e->cmd, &err)) {
            s->pushed++;
            snprintf(msg, sizeof msg, "frame %llu: %s", (unsigned long long)frame->index,
                     e->text);
            if (s->log)
                s->log->write(s->host, NNXR_LEVEL_INFO, msg);
        } else {
            s->refused++;
            snprintf(msg, sizeof msg, "frame %llu: \"%s\" refused: %s",
                     (unsigned long long)frame->index, e->text, err.message);
            if (s->log)
                s->log->write(s->host, NNXR_LEVEL_WARN, msg);
        }
        if (s->metrics) {
            s->metrics->publish(s->host, "script.pushed", s->pushed);
            s->metrics->publish(s->host, "script.refused", s->refused);
        }
    }
}

static const void *extension(void *self, const char *id)
{
    (void)self;
    static const nnxr_update_ext update_ext = {update};
    return strcmp(id, NNXR_EXT_UPDATE) ? NULL : &update_ext;
}

NNXR_EXPORT const nnxr_plugin_entry nnxr_entry = {
    .abi_version = NNXR_ABI_VERSION,
    .id = "nnxr.script",
    .description = "Commands on a timetable: \"FRAME COMMAND ARGS...\" (headless demos, tests)",
    .create = create,
    .destroy = destroy,
    .extension = extension,
};
