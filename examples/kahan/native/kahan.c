#include <math.h>
#include "kahan.h"

double kahan_sum(const double *values, size_t n)
{
    double sum = 0.0, c = 0.0;
    for (size_t i = 0; i < n; i++) {
        double t = sum + values[i];
        if (fabs(sum) >= fabs(values[i]))
            c += (sum - t) + values[i];
        else
            c += (values[i] - t) + sum;
        sum = t;
    }
    return sum + c;
}

const char *kahan_version(void)
{
    return KAHAN_VERSION;
}
