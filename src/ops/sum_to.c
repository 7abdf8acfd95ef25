/*
 * sum_to.c — x summed down to the shape of a tensor that broadcasts to
 * x's shape: the gradient of a broadcast, written with ops (tg_sum_to).
 * Broadcasting copies an input along the dimensions where it is missing
 * or has size 1, so its gradient adds up the copies' gradients there.
 */
#include <tapegrad.h>

tg_tensor *tg_sum_to(tg_tape *t, tg_tensor *x, const tg_tensor *like)
{
    if (x == NULL || like == NULL) {
        if (tg_last_status() == TG_OK)
            tg_set_error(TG_EINVAL, "tg_sum_to: tensor is NULL");
        return NULL;
    }
    int nd = tg_ndim(x), nl = tg_ndim(like);
    const int64_t *sx = tg_shape(x), *sl = tg_shape(like);
    bool ok = nl <= nd;
    for (int d = 0; ok && d < nl; d++)
        ok = sl[d] == 1 || sl[d] == sx[nd - nl + d];
    if (!ok) {
        char a[96], b[96];
        tg_set_error(TG_ESHAPE, "tg_sum_to: shape %s does not broadcast to "
                     "%s", tg_shape_str(like, a, sizeof a),
                     tg_shape_str(x, b, sizeof b));
        return NULL;
    }
    tg_tensor *s = x;
    for (int d = 0; d < nd - nl && s != NULL; d++)   /* missing dims */
        s = tg_sum_axis(t, s, 0, false);
    for (int d = 0; d < nl && s != NULL; d++)        /* size-1 dims */
        if (sl[d] == 1 && tg_shape(s)[d] != 1)
            s = tg_sum_axis(t, s, d, true);
    if (s == NULL || nl == tg_ndim(s))
        return s;
    return tg_reshape(t, s, nl, sl);
}
