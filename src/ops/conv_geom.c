/*
 * conv_geom.c — the checks every convolution op makes before it runs: the
 * options (stride, padding, dilation, groups), the ranks of x, the weight
 * and gy, and the sizes they imply (groups dividing the channels, the
 * kernel fitting the padded input), gathered into a tg__conv_geom. Every
 * message names the tensors and their shapes.
 */
#include "ops/conv_geom.h"

#include "tensor/tensor_struct.h"

#include <stdio.h>
#include <string.h>

/* "(a,b)" for 2 spatial dims, "a" for 1. */
static const char *dims_str(const int64_t *v, int nsp, char *buf, size_t n)
{
    if (nsp == 1)
        snprintf(buf, n, "%lld", (long long)v[0]);
    else
        snprintf(buf, n, "(%lld,%lld)", (long long)v[0], (long long)v[1]);
    return buf;
}

/* One rule for every entry point: stride, dilation, groups >= 1,
 * padding >= 0, and none above INT32_MAX (so that sizes computed from them
 * cannot overflow). */
static int check_options(int nsp, const tg__conv_params *p)
{
    char b[64], b2[64];
    for (int d = 0; d < nsp; d++) {
        if (p->stride[d] > INT32_MAX || p->dilation[d] > INT32_MAX ||
            p->padding[d] > INT32_MAX || p->groups > INT32_MAX)
            return tg_set_error(TG_EINVAL, "stride %s, padding %s, dilation "
                                "and groups must be at most %d",
                                dims_str(p->stride, nsp, b, sizeof b),
                                dims_str(p->padding, nsp, b2, sizeof b2),
                                INT32_MAX);
        if (p->stride[d] < 1)
            return tg_set_error(TG_EINVAL, "stride %s must be at least 1",
                                dims_str(p->stride, nsp, b, sizeof b));
        if (p->dilation[d] < 1)
            return tg_set_error(TG_EINVAL, "dilation %s must be at least 1",
                                dims_str(p->dilation, nsp, b, sizeof b));
        if (p->padding[d] < 0)
            return tg_set_error(TG_EINVAL, "padding %s must not be negative",
                                dims_str(p->padding, nsp, b, sizeof b));
    }
    if (p->groups < 1)
        return tg_set_error(TG_EINVAL, "groups %lld must be at least 1",
                            (long long)p->groups);
    return TG_OK;
}

/* A rank check naming the tensor and what its dims mean. */
static int check_rank(const char *what, const tg_tensor *a, int nsp,
                      const char *dims)
{
    if (a->ndim == nsp + 2)
        return TG_OK;
    char s[128];
    return tg_set_error(TG_ESHAPE, "%s %s must have %d dims %s", what,
                        tg_shape_str(a, s, sizeof s), nsp + 2, dims);
}

static const char *x_dims(int nsp) { return nsp == 1 ? "(N, C, L)" : "(N, C, H, W)"; }
static const char *w_dims(int nsp)
{
    return nsp == 1 ? "(O, C / groups, kL)" : "(O, C / groups, kH, kW)";
}

/* The geometry of conv(x, w) from x's shape xs and w's ws (4 dims each,
 * H and kH 1 for conv1d), checked: groups divide the channels, w's input
 * channels match, the kernel fits the padded input. x and w name the
 * tensors in messages. */
static int make_geom(int nsp, const tg__conv_params *p, const int64_t *xs,
                     const int64_t *ws, const tg_tensor *x,
                     const tg_tensor *w, tg__conv_geom *g)
{
    char sx[128], sw[128], b1[64], b2[64]; /* formatted only on failure */
    int h = nsp == 2 ? 0 : -1; /* index of H's options, none for conv1d */
    *g = (tg__conv_geom){
        .n = xs[0], .c = xs[1], .h = xs[2], .w = xs[3],
        .o = ws[0], .kh = ws[2], .kw = ws[3],
        .sh = h < 0 ? 1 : p->stride[0], .ph = h < 0 ? 0 : p->padding[0],
        .dh = h < 0 ? 1 : p->dilation[0], .sw = p->stride[nsp - 1],
        .pw = p->padding[nsp - 1], .dw = p->dilation[nsp - 1],
        .g = p->groups};
    if (g->c % g->g != 0)
        return tg_set_error(TG_ESHAPE, "x %s has %lld channels, which "
                            "groups %lld does not divide",
                            tg_shape_str(x, sx, sizeof sx), (long long)g->c,
                            (long long)g->g);
    if (g->o % g->g != 0)
        return tg_set_error(TG_ESHAPE, "weight %s has %lld output channels, "
                            "which groups %lld does not divide",
                            tg_shape_str(w, sw, sizeof sw), (long long)g->o,
                            (long long)g->g);
    if (ws[1] * g->g != g->c)
        return tg_set_error(TG_ESHAPE, "weight %s takes %lld input channels "
                            "per group, but x %s has %lld channels in %lld "
                            "group(s)", tg_shape_str(w, sw, sizeof sw),
                            (long long)ws[1], tg_shape_str(x, sx, sizeof sx),
                            (long long)g->c, (long long)g->g);
    int64_t eh = g->dh * (g->kh - 1) + 1, ew = g->dw * (g->kw - 1) + 1;
    int64_t hp = g->h + 2 * g->ph, wp = g->w + 2 * g->pw;
    if (eh > hp || ew > wp) {
        int64_t pad[2] = {g->ph, g->pw}, dil[2] = {g->dh, g->dw};
        return tg_set_error(TG_ESHAPE, "x %s with padding %s is %lldx%lld, "
                            "smaller than the %lldx%lld kernel of weight %s "
                            "at dilation %s", tg_shape_str(x, sx, sizeof sx),
                            dims_str(pad + 2 - nsp, nsp, b1, sizeof b1),
                            (long long)hp, (long long)wp, (long long)eh,
                            (long long)ew, tg_shape_str(w, sw, sizeof sw),
                            dims_str(dil + 2 - nsp, nsp, b2, sizeof b2));
    }
    g->oh = (hp - eh) / g->sh + 1;
    g->ow = (wp - ew) / g->sw + 1;
    return TG_OK;
}

/* A tensor's shape as 4 dims, with H = 1 inserted for conv1d. */
static void dims4(const tg_tensor *a, int nsp, int64_t *s)
{
    s[0] = a->shape[0];
    s[1] = a->shape[1];
    s[2] = nsp == 2 ? a->shape[2] : 1;
    s[3] = a->shape[nsp + 1];
}

/* gy must be (N, O, OH, OW) for the geometry g. */
static int check_gy(int nsp, const tg__conv_geom *g, const tg_tensor *gy)
{
    int64_t s[4];
    dims4(gy, nsp, s);
    if (s[0] == g->n && s[1] == g->o && s[2] == g->oh && s[3] == g->ow)
        return TG_OK;
    char b[128];
    return tg_set_error(TG_ESHAPE, "gy %s should be (%lld,%lld,%lld,%lld) "
                        "(with H dropped for 1-d)", tg_shape_str(gy, b, sizeof b),
                        (long long)g->n, (long long)g->o, (long long)g->oh,
                        (long long)g->ow);
}

int tg__conv_geom_of(int nsp, enum tg__conv_kind k, const tg__conv_params *p,
                     tg_tensor *const *in, tg__conv_geom *g)
{
    if (check_options(nsp, p) != TG_OK)
        return TG_EINVAL;
    const tg_tensor *x = k == TG__CONV_INPUT_GRAD ? NULL : in[0];
    const tg_tensor *w = k == TG__CONV_WEIGHT_GRAD ? NULL : in[1];
    const tg_tensor *gy =
        k == TG__CONV_FWD ? NULL : in[k == TG__CONV_INPUT_GRAD ? 0 : 1];
    if ((x != NULL && check_rank("x", x, nsp, x_dims(nsp)) != TG_OK) ||
        (w != NULL && check_rank("weight", w, nsp, w_dims(nsp)) != TG_OK) ||
        (gy != NULL && check_rank("gy", gy, nsp, x_dims(nsp)) != TG_OK))
        return TG_ESHAPE;
    int64_t xs[4] = {0}, ws[4] = {0};
    if (x != NULL)
        dims4(x, nsp, xs);
    if (w != NULL)
        dims4(w, nsp, ws);
    if (k == TG__CONV_INPUT_GRAD) { /* x is (N, C, size), C from w */
        int64_t s[4] = {gy->shape[0], w->shape[1] * p->groups,
                        nsp == 2 ? p->size[0] : 1, p->size[nsp - 1]};
        memcpy(xs, s, sizeof s);
        x = gy;
    } else if (k == TG__CONV_WEIGHT_GRAD) { /* w: (O, C / g, size), O from gy */
        int64_t s[4] = {gy->shape[1], xs[1] / p->groups,
                        nsp == 2 ? p->size[0] : 1, p->size[nsp - 1]};
        memcpy(ws, s, sizeof s);
        w = gy;
    }
    for (int d = 0; d < 4; d++)
        if (xs[d] < 1 || ws[d] < 1)
            return tg_set_error(TG_ESHAPE, "the sizes of x and weight must "
                                "be positive");
    if (make_geom(nsp, p, xs, ws, x, w, g) != TG_OK)
        return TG_ESHAPE;
    return k == TG__CONV_FWD ? TG_OK : check_gy(nsp, g, gy);
}

