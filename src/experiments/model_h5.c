#include "config.h"

#include "model_h5.h"

#include <complex.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <hdf5.h>

#define FORMAT "ssmsweep-dssm-1"

typedef struct {
    const char *name;
    ssm_param_group group;   /* SSM_GROUP_COUNT: not a parameter */
    const char *long_name;
} field;

static const field fields[] = {
    {"log_neg_re_a", SSM_GROUP_A_RE, "log(-Re a) of each mode (real modes first)"},
    {"im_a", SSM_GROUP_A_IM, "Im a of each conjugate pair"},
    {"log_dt", SSM_GROUP_DT, "log of the discretization step"},
    {"b", SSM_GROUP_B, "input weights: b (real modes), Re b, Im b (pairs)"},
    {"c", SSM_GROUP_C, "readout over the features x (real), Re x, Im x (pairs), per output"},
    {"d", SSM_GROUP_D, "skip weight per output"},
    {"bias", SSM_GROUP_BIAS, "bias per output"},
};
#define N_FIELDS (sizeof fields / sizeof fields[0])

static herr_t put_text(hid_t loc, const char *name, const char *text)
{
    hid_t type = H5Tcopy(H5T_C_S1), space = H5Screate(H5S_SCALAR), attr = -1;
    herr_t rc = -1;
    if (type >= 0 && space >= 0 && H5Tset_size(type, strlen(text) + 1) >= 0 && H5Tset_cset(type, H5T_CSET_UTF8) >= 0 &&
        (attr = H5Acreate2(loc, name, type, space, H5P_DEFAULT, H5P_DEFAULT)) >= 0)
        rc = H5Awrite(attr, type, text);
    if (attr >= 0)
        H5Aclose(attr);
    if (space >= 0)
        H5Sclose(space);
    if (type >= 0)
        H5Tclose(type);
    return rc;
}

static herr_t put_count(hid_t loc, const char *name, size_t value)
{
    long long v = (long long)value;
    hid_t space = H5Screate(H5S_SCALAR), attr = -1;
    herr_t rc = -1;
    if (space >= 0 && (attr = H5Acreate2(loc, name, H5T_STD_I64LE, space, H5P_DEFAULT, H5P_DEFAULT)) >= 0)
        rc = H5Awrite(attr, H5T_NATIVE_LLONG, &v);
    if (attr >= 0)
        H5Aclose(attr);
    if (space >= 0)
        H5Sclose(space);
    return rc;
}

static herr_t put_array(hid_t file, const char *name, const char *long_name, int rank, const hsize_t *dims,
                        const double *data)
{
    hid_t space = H5Screate_simple(rank, dims, NULL), ds = -1;
    herr_t rc = -1;
    if (space >= 0 &&
        (ds = H5Dcreate2(file, name, H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)) >= 0 &&
        H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0)
        rc = put_text(ds, "long_name", long_name);
    if (ds >= 0)
        H5Dclose(ds);
    if (space >= 0)
        H5Sclose(space);
    return rc;
}

ssm_status sw_model_export(const char *path, const ssm_dssm *m, ssm_error *err)
{
    ssm_status st = SSM_OK;
    size_t nm = m->n_real + m->n_pair;
    double complex *lambda = malloc((nm ? nm : 1) * sizeof *lambda), *bbar = malloc((nm ? nm : 1) * sizeof *bbar);
    double *re = malloc((nm ? nm : 1) * sizeof *re), *im = malloc((nm ? nm : 1) * sizeof *im);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (!lambda || !bbar || !re || !im) {
        st = ssm_fail(err, SSM_ENOMEM, "out of memory");
        goto done;
    }
    if (file < 0) {
        st = ssm_fail_param(err, SSM_EIO, "export", "cannot create '%s'", path);
        goto done;
    }
    int bad = put_text(file, "format", FORMAT) < 0 || put_text(file, "disc", ssm_disc_name(m->disc)) < 0 ||
              put_count(file, "n_real", m->n_real) < 0 || put_count(file, "n_pair", m->n_pair) < 0 ||
              put_count(file, "n_out", m->n_out) < 0;
    for (size_t f = 0; f < N_FIELDS && !bad; ++f) {
        ssm_param_group g = fields[f].group;
        hsize_t dims[2] = {m->length[g], 0};
        int rank = 1;
        if (g == SSM_GROUP_C) {
            dims[0] = m->n_out;
            dims[1] = m->n_features;
            rank = 2;
        }
        bad = put_array(file, fields[f].name, fields[f].long_name, rank, dims, m->theta + m->offset[g]) < 0;
    }
    ssm_dssm_discretize(m, lambda, bbar);
    for (size_t k = 0; k < nm; ++k) {
        re[k] = creal(lambda[k]);
        im[k] = cimag(lambda[k]);
    }
    hsize_t dm = nm;
    bad = bad || put_array(file, "lambda_re", "Re of the discrete eigenvalue of each mode", 1, &dm, re) < 0 ||
          put_array(file, "lambda_im", "Im of the discrete eigenvalue of each mode", 1, &dm, im) < 0;
    if (bad)
        st = ssm_fail_param(err, SSM_EIO, "export", "cannot write '%s'", path);
done:
    if (file >= 0 && H5Fclose(file) < 0 && st == SSM_OK)
        st = ssm_fail_param(err, SSM_EIO, "export", "cannot close '%s'", path);
    free(lambda);
    free(bbar);
    free(re);
    free(im);
    return st;
}

static int get_count(hid_t loc, const char *name, size_t *out)
{
    long long v = -1;
    hid_t attr = H5Aopen(loc, name, H5P_DEFAULT);
    int rc = attr >= 0 && H5Aread(attr, H5T_NATIVE_LLONG, &v) >= 0 && v >= 0 && v < (1LL << 40) ? 0 : -1;
    if (attr >= 0)
        H5Aclose(attr);
    *out = (size_t)v;
    return rc;
}

static int get_text(hid_t loc, const char *name, char *buf, size_t size)
{
    hid_t attr = H5Aopen(loc, name, H5P_DEFAULT), type = attr >= 0 ? H5Aget_type(attr) : -1;
    int rc = -1;
    if (type >= 0 && H5Tget_class(type) == H5T_STRING && !H5Tis_variable_str(type) && H5Tget_size(type) <= size) {
        memset(buf, 0, size);
        rc = H5Aread(attr, type, buf) >= 0 ? 0 : -1;
    }
    if (type >= 0)
        H5Tclose(type);
    if (attr >= 0)
        H5Aclose(attr);
    return rc;
}

ssm_status sw_model_import(const char *path, ssm_dssm *m, ssm_error *err)
{
    ssm_status st = SSM_OK;
    char format[64], disc[32];
    size_t n_real, n_pair, n_out;
    memset(m, 0, sizeof *m);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (file < 0)
        return ssm_fail_param(err, SSM_EIO, "import", "cannot open '%s' as HDF5", path);
    if (get_text(file, "format", format, sizeof format) || strcmp(format, FORMAT) != 0 ||
        get_text(file, "disc", disc, sizeof disc) || get_count(file, "n_real", &n_real) ||
        get_count(file, "n_pair", &n_pair) || get_count(file, "n_out", &n_out) || n_out < 1 ||
        n_out > SSM_MAX_OUTPUTS || n_real + n_pair < 1) {
        st = ssm_fail_param(err, SSM_EIO, "import", "'%s' is not a model exported by ssmsweep (%s)", path, FORMAT);
        goto done;
    }
    ssm_disc d;
    if (ssm_disc_parse(disc, &d, err)) {
        st = ssm_fail_param(err, SSM_EIO, "import", "'%s': unknown discretization '%s'", path, disc);
        goto done;
    }
    if ((st = ssm_dssm_alloc(m, n_real, n_pair, n_out, d, err)))
        goto done;
    for (size_t f = 0; f < N_FIELDS; ++f) {
        ssm_param_group g = fields[f].group;
        hid_t ds = H5Dopen2(file, fields[f].name, H5P_DEFAULT), space = ds >= 0 ? H5Dget_space(ds) : -1;
        hssize_t n = space >= 0 ? H5Sget_simple_extent_npoints(space) : -1;
        int ok = n == (hssize_t)m->length[g] &&
                 H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, m->theta + m->offset[g]) >= 0;
        if (space >= 0)
            H5Sclose(space);
        if (ds >= 0)
            H5Dclose(ds);
        if (!ok) {
            st = ssm_fail_param(err, SSM_EIO, "import", "'%s': dataset /%s is missing or has %lld values, expected %zu",
                          path, fields[f].name, (long long)n, m->length[g]);
            goto done;
        }
    }
    for (size_t i = 0; i < m->n_params; ++i)
        if (!isfinite(m->theta[i])) {
            st = ssm_fail_param(err, SSM_EIO, "import", "'%s' holds a non-finite parameter", path);
            goto done;
        }
done:
    H5Fclose(file);
    if (st)
        ssm_dssm_free(m);
    return st;
}
