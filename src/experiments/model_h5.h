/* Export and import of trained single-layer models as HDF5, so that any
 * framework (PyTorch, JAX, numpy) can reproduce a run from the same start.
 *
 * Layout of F.h5 (float64, attributes `long_name` on every dataset):
 *   /  attrs format = "ssmsweep-dssm-1", disc = "zoh" | "bilinear",
 *          n_real, n_pair, n_out; modes are the real ones first, then pairs
 *   /log_neg_re_a [modes]     p_re: a = -exp(p_re) + i im_a
 *   /im_a [n_pair]            imaginary part of the pairs' continuous eigenvalue
 *   /log_dt [1]               dt = exp(log_dt)
 *   /b [features]             input weights: real modes b, pairs (Re b, Im b)
 *   /c [n_out, features]      readout over features (x | Re x, Im x)
 *   /d [n_out], /bias [n_out]
 *   /lambda_re, /lambda_im [modes]   the discrete eigenvalues (information only) */
#ifndef SW_MODEL_H5_H
#define SW_MODEL_H5_H

#include "ssm/train.h"

ssm_status sw_model_export(const char *path, const ssm_dssm *m, ssm_error *err);
/* Allocates m; the file's shapes are checked against its attributes. */
ssm_status sw_model_import(const char *path, ssm_dssm *m, ssm_error *err);

#endif
