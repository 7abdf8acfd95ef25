/*
 * conv2d.c — tg_conv2d on a small picture: a Sobel filter finds a vertical
 * edge, then gradient descent learns a kernel that gives the same output.
 *
 *     ./build/examples/conv2d
 *
 * The learning half is the whole of training a convolution: the weight
 * requires grad, the loss is the mean squared error against the target,
 * tg_backward fills tg_grad(w), and a step moves w against it.
 */
#include <tapegrad.h>

#include <stdio.h>

/* One 6x6 picture, dark on the left, bright on the right. */
static tg_tensor *picture(tg_tape *t)
{
    int64_t shape[4] = {1, 1, 6, 6};
    float v[36];
    for (int i = 0; i < 36; i++)
        v[i] = i % 6 >= 3 ? 1.0f : 0.0f;
    return tg_from_data(t, TG_F32, 4, shape, v);
}

int main(void)
{
    tg_tape *t = tg_tape_new(), *step = tg_tape_new();
    int64_t ks[4] = {1, 1, 3, 3};
    const float sobel[9] = {-1, 0, 1, -2, 0, 2, -1, 0, 1};
    tg_tensor *x = picture(t);
    tg_tensor *sob = tg_from_data(t, TG_F32, 4, ks, sobel);
    tg_conv_options o = tg_conv_defaults();
    o.padding[0] = o.padding[1] = 1;  /* keep 6x6 */
    tg_tensor *edges = tg_conv2d(t, x, sob, NULL, &o);
    if (edges == NULL) {
        fprintf(stderr, "%s\n", tg_last_error());
        return 1;
    }
    printf("Sobel-x of the picture, row 2: ");
    for (int j = 0; j < 6; j++)
        printf("%g ", tg_data_f32(edges)[2 * 6 + j]);
    printf("\n");

    /* Learn a 3x3 kernel (from zeros) whose output matches the edges. */
    tg_tensor *w = tg_zeros(t, TG_F32, 4, ks);
    tg_set_requires_grad(w, true);
    double loss = 0;
    for (int it = 0; it < 300; it++) {
        tg_tensor *l = tg_mse_loss(step, tg_conv2d(step, x, w, NULL, &o),
                                   edges);
        if (tg_zero_grad(w) != TG_OK || tg_backward(step, l) != TG_OK) {
            fprintf(stderr, "%s\n", tg_last_error());
            return 1;
        }
        loss = tg_item(l);
        float *wv = tg_mut_f32(w);
        const float *g = tg_data_f32(tg_grad(w));
        for (int i = 0; i < 9; i++)
            wv[i] -= 0.02f * g[i];
        tg_tape_reset(step);
    }
    printf("learned after 300 steps (loss %.2g), middle row: %.2f %.2f %.2f\n",
           loss, tg_data_f32(w)[3], tg_data_f32(w)[4], tg_data_f32(w)[5]);
    tg_tape_free(step);
    tg_tape_free(t);
    return 0;
}
