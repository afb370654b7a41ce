/* tests/unit/check.h — the assertions of nnxr's C unit tests. Each failed check prints its
 * place and keeps going; check_finish prints "N passed, M failed" and gives the exit code. */
#ifndef NNXR_TEST_CHECK_H
#define NNXR_TEST_CHECK_H

#include <math.h>
#include <stdio.h>
#include <string.h>

static int check_passed_, check_failed_;

#define CHECK(cond)                                                                      \
    do {                                                                                 \
        if (cond) {                                                                      \
            check_passed_++;                                                             \
        } else {                                                                         \
            check_failed_++;                                                             \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);     \
        }                                                                                \
    } while (0)

#define CHECKF(cond, ...)                                                                \
    do {                                                                                 \
        if (cond) {                                                                      \
            check_passed_++;                                                             \
        } else {                                                                         \
            check_failed_++;                                                             \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond);     \
            fprintf(stderr, __VA_ARGS__);                                                \
            fputc('\n', stderr);                                                         \
        }                                                                                \
    } while (0)

/* Relative error with a floor so values near zero compare absolutely. */
#define CHECK_CLOSE(a, b, tol)                                                           \
    do {                                                                                 \
        double ca_ = (double)(a), cb_ = (double)(b);                                     \
        double den_ = fmax(fmax(fabs(ca_), fabs(cb_)), 1.0);                             \
        CHECKF(fabs(ca_ - cb_) <= (tol) * den_, "%s = %.9g, %s = %.9g", #a, ca_, #b, cb_); \
    } while (0)

#define CHECK_CONTAINS(haystack, needle)                                                 \
    CHECKF(strstr((haystack), (needle)) != NULL, "\"%s\" lacks \"%s\"", (haystack), (needle))

static inline int check_finish(void)
{
    printf("%d passed, %d failed\n", check_passed_, check_failed_);
    return check_failed_ ? 1 : 0;
}

#endif
