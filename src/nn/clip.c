/*
 * clip.c — gradient clipping by total norm and by value, as
 * torch.nn.utils.clip_grad_norm_ and clip_grad_value_.
 */
#include "tapegrad.h"
#include "tapegrad/train.h"
#include "tensor/handle.h"
#include "tensor/tensor_check.h"

#include <math.h>

/* A live list whose parameters are all live (one may be on another tape,
 * reset since), checked before any gradient is read or changed; a NULL
 * list keeps the error of the tg_params_new that failed. */
static int check_list(const char *fn, const tg_params *p)
{
    int rc = tg__check_handle(fn, p, "parameter list");
    for (int64_t i = 0; rc == TG_OK && i < tg_params_count(p); i++)
        if (tg__check_tensor(fn, tg_params_at(p, i)) != TG_OK)
            rc = tg_set_error(TG_ESTATE, "%s: parameter %lld was freed by a "
                              "reset of its tape", fn, (long long)i);
    return rc;
}

/* sum |g|^q over one gradient (q finite), or max |g| (q infinite). */
static double grad_norm_part(const tg_tensor *g, double q)
{
    int64_t n = tg_numel(g);
    const float *f = tg_dtype_of(g) == TG_F32 ? tg_data_f32(g) : NULL;
    const double *d = f == NULL ? tg_data_f64(g) : NULL;
    double acc = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double a = fabs(f != NULL ? (double)f[i] : d[i]);
        if (isinf(q))
            acc = (a > acc || isnan(a)) ? a : acc;
        else if (q == 2.0)
            acc += a * a;
        else if (q == 1.0)
            acc += a;
        else
            acc += pow(a, q);
    }
    return acc;
}

static void scale(tg_tensor *g, double c)
{
    int64_t n = tg_numel(g);
    if (tg_dtype_of(g) == TG_F32) {
        float *v = tg_mut_f32(g), cf = (float)c;
        for (int64_t i = 0; i < n; i++)
            v[i] *= cf;
    } else {
        double *v = tg_mut_f64(g);
        for (int64_t i = 0; i < n; i++)
            v[i] *= c;
    }
}

int tg_params_clip_grad_norm(tg_params *p, double max_norm, double norm_type,
                             double *total_norm)
{
    int rc = check_list("tg_params_clip_grad_norm", p);
    if (rc != TG_OK)
        return rc;
    if (!(max_norm >= 0.0) || !(norm_type > 0.0))
        return tg_set_error(TG_EINVAL, "tg_params_clip_grad_norm: max_norm "
                            "%g must be >= 0 and norm_type %g > 0 (inf for "
                            "the largest magnitude)", max_norm, norm_type);
    double acc = 0.0;
    for (int64_t i = 0; i < tg_params_count(p); i++) {
        const tg_tensor *g = tg_grad(tg_params_at(p, i));
        if (g == NULL)
            continue;
        double part = grad_norm_part(g, norm_type);
        if (isinf(norm_type))
            acc = (part > acc || isnan(part)) ? part : acc;
        else
            acc += part;
    }
    double norm = isinf(norm_type) ? acc
                  : norm_type == 2.0 ? sqrt(acc)
                  : norm_type == 1.0 ? acc : pow(acc, 1.0 / norm_type);
    if (total_norm != NULL)
        *total_norm = norm;
    double coef = max_norm / (norm + 1e-6);
    if (coef >= 1.0 || isinf(max_norm))  /* inf / inf would scale by NaN */
        return TG_OK;
    for (int64_t i = 0; i < tg_params_count(p); i++) {
        tg_tensor *g = tg_grad(tg_params_at(p, i));
        if (g != NULL)
            scale(g, coef);
    }
    return TG_OK;
}

int tg_params_clip_grad_value(tg_params *p, double clip)
{
    int rc = check_list("tg_params_clip_grad_value", p);
    if (rc != TG_OK)
        return rc;
    if (!(clip >= 0.0))
        return tg_set_error(TG_EINVAL, "tg_params_clip_grad_value: clip %g "
                            "must be >= 0", clip);
    for (int64_t i = 0; i < tg_params_count(p); i++) {
        tg_tensor *g = tg_grad(tg_params_at(p, i));
        if (g == NULL)
            continue;
        int64_t n = tg_numel(g);
        if (tg_dtype_of(g) == TG_F32) {
            float *v = tg_mut_f32(g), c = (float)clip;
            for (int64_t k = 0; k < n; k++)
                v[k] = v[k] > c ? c : v[k] < -c ? -c : v[k];
        } else {
            double *v = tg_mut_f64(g);
            for (int64_t k = 0; k < n; k++)
                v[k] = v[k] > clip ? clip : v[k] < -clip ? -clip : v[k];
        }
    }
    return TG_OK;
}
