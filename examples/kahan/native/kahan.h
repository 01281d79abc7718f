/* libkahan: compensated (Kahan-Babuska-Neumaier) summation, a tiny native library for the shipwheel example. */
#ifndef KAHAN_H
#define KAHAN_H

#include <stddef.h>

#define KAHAN_VERSION "1.0.0"

/* The compensated sum of n doubles. */
double kahan_sum(const double *values, size_t n);

/* The library's version string, so tests can check the grafted copy is the one that was built. */
const char *kahan_version(void);

#endif
