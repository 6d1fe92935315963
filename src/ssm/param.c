#include "config.h"

#include "param_check.h"

#include <stdio.h>
#include <stdlib.h>

ssm_status ssm_param_check(double x, const char *key, int integer, double min, double max, const char *min_text,
                           const char *max_text, ssm_error *err)
{
    char shown[32];
    if (x >= min && x <= max)
        return SSM_OK;
    if (integer)
        snprintf(shown, sizeof shown, "%.0f", x);
    else   /* as few digits as tell x from the bound: 1e6 + 2^-29 is not "1e+06" */
        for (int digits = 6; digits <= 17; ++digits)
            if (snprintf(shown, sizeof shown, "%.*g", digits, x) > 0 && strtod(shown, NULL) == x)
                break;
    if (x > max)
        return max == SSM_BELOW_ONE ? ssm_fail_param(err, SSM_EINVAL, key, "must be below 1, got %s", shown)
                                    : ssm_fail_param(err, SSM_EINVAL, key, "%s is beyond the limit %s", shown, max_text);
    return min == SSM_POSITIVE ? ssm_fail_param(err, SSM_EINVAL, key, "must be positive, got %s", shown)
                               : ssm_fail_param(err, SSM_EINVAL, key, "must be at least %s, got %s", min_text, shown);
}
