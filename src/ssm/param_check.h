/* A value against its row of param.h, for the core's checks whose bound has
 * no message of its own: SSM_EINVAL naming the row's key, "must be at least
 * 1, got 0" ("must be positive", "must be below 1" for the open bounds) or
 * "2e+06 is beyond the limit 1e6".  Not part of the installed library. */
#ifndef SSM_PARAM_CHECK_H
#define SSM_PARAM_CHECK_H

#include "error.h"
#include "param.h"

#define SSM_PARAM_CHECK(x, row, err) SSM_PARAM_CHECK_(x, err, row)
#define SSM_PARAM_CHECK_(x, err, ...)                                                                       \
    ssm_param_check((double)(x), SSM_PARAM_KEY(__VA_ARGS__), SSM_PARAM_INTEGER(__VA_ARGS__), SSM_PARAM_MIN(__VA_ARGS__), \
                    SSM_PARAM_MAX(__VA_ARGS__), SSM_PARAM_MIN_TEXT(__VA_ARGS__), SSM_PARAM_MAX_TEXT(__VA_ARGS__), err)

ssm_status ssm_param_check(double x, const char *key, int integer, double min, double max, const char *min_text,
                           const char *max_text, ssm_error *err);

#endif
