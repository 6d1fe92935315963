#include "config.h"

#include "error.h"

#include <stdarg.h>
#include <stdio.h>

/* err's message from fmt, its code, and the parameter at fault ("" if none). */
static ssm_status vfail(ssm_error *err, ssm_status code, const char *param, const char *fmt, va_list ap)
{
    if (err) {
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        err->code = code;
        snprintf(err->param, sizeof err->param, "%s", param);
    }
    return code;
}

ssm_status ssm_fail(ssm_error *err, ssm_status code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(err, code, "", fmt, ap);
    va_end(ap);
    return code;
}

ssm_status ssm_fail_param(ssm_error *err, ssm_status code, const char *param, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(err, code, param, fmt, ap);
    va_end(ap);
    return code;
}

void ssm_error_clear(ssm_error *err)
{
    if (err) {
        err->code = SSM_OK;
        err->message[0] = '\0';
        err->param[0] = '\0';
    }
}

const char *ssm_status_name(ssm_status code)
{
    switch (code) {
    case SSM_OK: return "success";
    case SSM_EINVAL: return "invalid argument";
    case SSM_ENOMEM: return "out of memory";
    case SSM_EIO: return "input/output error";
    case SSM_ENUMERIC: return "numerical failure";
    }
    return "unknown error";
}
