/* Error reporting for libssm.
 *
 * Every function that can fail takes an `ssm_error *` as its last argument
 * and returns an ssm_status.  The struct carries a one-line message meant
 * for the end user (no trailing newline, no program name) and, when one
 * parameter is at fault, that parameter's name: the front ends spell it
 * their way (the CLI as --tau-max, a sweep spec as its key tau_max), so
 * the message itself does not name it.  Names are the spec keys
 * (tau_max, real_part, delay, task_type, n_train).  Passing NULL is
 * allowed when the caller only needs the status code. */
#ifndef SSM_ERROR_H
#define SSM_ERROR_H

typedef enum {
    SSM_OK = 0,
    SSM_EINVAL,   /* a parameter is out of its domain */
    SSM_ENOMEM,   /* an allocation failed */
    SSM_EIO,      /* a file could not be read or parsed */
    SSM_ENUMERIC  /* LAPACK failed or an iteration did not converge */
} ssm_status;

#define SSM_ERROR_MSG_MAX 320
#define SSM_PARAM_NAME_MAX 32

typedef struct {
    ssm_status code;
    char message[SSM_ERROR_MSG_MAX];
    char param[SSM_PARAM_NAME_MAX];   /* the parameter at fault, "" if none */
} ssm_error;

/* Records code and a printf-style message in err (if non-NULL) and returns
 * code, so that `return ssm_fail(err, SSM_EINVAL, "...")` reads naturally. */
ssm_status ssm_fail(ssm_error *err, ssm_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The same for a failure of one parameter (its name as in specs). */
ssm_status ssm_fail_param(ssm_error *err, ssm_status code, const char *param, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Resets err to SSM_OK with an empty message. */
void ssm_error_clear(ssm_error *err);

/* A short name of the status ("invalid argument", ...). */
const char *ssm_status_name(ssm_status code);

#endif
