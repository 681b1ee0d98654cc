/*
 * tests/host/bench_common.c - report helpers shared by the callgrind benches.
 */
#include "bench_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

double bench_keyval(const char *prog, const char *path, const char *key)
{
    FILE *f = fopen(path, "r");
    char line[512];
    size_t kl = strlen(key);
    double v = -1;

    if (f == NULL) {
        perror(path);
        exit(2);
    }
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, key, kl) == 0 && (line[kl] == ' ' || line[kl] == ':')) {
            v = strtod(line + kl + 1, NULL);
            break;
        }
    fclose(f);
    if (v < 0) {
        fprintf(stderr, "%s: no '%s' in %s\n", prog, key, path);
        exit(2);
    }
    return v;
}
