/* app/cli_toml.c — `nnxr toml-json [FILE]`: decodes TOML and prints the toml-test tagged
 * JSON, the decoder interface the conformance suite drives. */
#include "app/cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/toml.h"

static void usage(FILE *out)
{
    fputs("usage: nnxr toml-json [FILE | -]\n"
          "Decodes a TOML 1.0 document from FILE (or standard input when FILE is '-' or absent)\n"
          "and prints it as the tagged JSON of the toml-test suite.\n"
          "Exit status: 0 decoded, 1 invalid TOML (line:column: message on stderr),\n"
          "2 usage error or unreadable input.\n",
          out);
}

/* Reads the whole stream; NULL (errno set) on a read error or when memory runs out. */
static char *read_all(FILE *f, size_t *len)
{
    size_t cap = 65536, n = 0;
    char *data = malloc(cap);
    if (!data)
        return NULL;
    for (;;) {
        if (n == cap) {
            char *np = realloc(data, cap * 2);
            if (!np) {
                free(data);
                errno = ENOMEM;
                return NULL;
            }
            data = np;
            cap *= 2;
        }
        size_t got = fread(data + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        int e = errno ? errno : EIO;
        free(data);
        errno = e;
        return NULL;
    }
    *len = n;
    return data;
}

int nnxr_cli_toml_json(int argc, char **argv)
{
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "nnxr toml-json: unknown option '%s'\n", a);
            usage(stderr);
            return 2;
        }
        if (path) {
            fprintf(stderr, "nnxr toml-json: expected one FILE, got '%s' and '%s'\n", path, a);
            usage(stderr);
            return 2;
        }
        path = a;
    }
    bool from_stdin = !path || strcmp(path, "-") == 0;
    FILE *f = from_stdin ? stdin : fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "nnxr toml-json: cannot open '%s': %s\n", path, strerror(errno));
        return 2;
    }
    size_t len = 0;
    char *text = read_all(f, &len);
    int read_errno = errno;
    if (!from_stdin)
        fclose(f);
    if (!text) {
        fprintf(stderr, "nnxr toml-json: cannot read '%s': %s\n", from_stdin ? "<stdin>" : path,
                strerror(read_errno));
        return 2;
    }
    nnxr_error err = {{0}};
    /* Without a file name the message is just "line:column: message". */
    nnxr_toml_value *doc = nnxr_toml_parse(text, len, from_stdin ? NULL : path, &err);
    free(text);
    if (!doc) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    bool ok = nnxr_toml_write_json(doc, stdout) && fflush(stdout) == 0;
    nnxr_toml_free(doc);
    if (!ok) {
        fprintf(stderr, "nnxr toml-json: cannot write the output: %s\n", strerror(errno));
        return 2;
    }
    return 0;
}
