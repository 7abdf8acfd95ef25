/*
 * tapegrad/sequential.h — layers and a sequential container, so that a
 * network reads like PyTorch's nn.Sequential.
 *
 * A layer is a forward function with named parameters (trained), named
 * buffers (saved in checkpoints but not trained, such as running
 * statistics), a train/eval flag that its forward reads, and a pointer to
 * state of its own (options, an rng). The built-in layers are linear,
 * activation (any one-input op, by name or by pointer), flatten, and the
 * convolutional ones (conv2d, pooling, dropout, batch norm); a
 * layer of your own is a tg_layer_class and tg_layer_new.
 *
 *     tg_rng rng;  tg_rng_seed(&rng, 1, 0);
 *     tg_sequential *net = tg_sequential_new(t);
 *     tg_sequential_add(net, tg_layer_flatten_new(t, 1));
 *     tg_sequential_add(net, tg_layer_linear_new(t, &rng, TG_F32, 16, 8, true));
 *     tg_sequential_add(net, tg_layer_activation_new(t, "relu"));
 *     tg_sequential_add(net, tg_layer_linear_new(t, &rng, TG_F32, 8, 3, true));
 *     int64_t shape[] = {5, 4, 4};
 *     tg_tensor *x = tg_rand_uniform(t, &rng, TG_F32, 3, shape, 0.0, 1.0);
 *     tg_tensor *y = tg_sequential_forward(t, net, x);    // (5, 3)
 *     tg_params *p = tg_sequential_params(net);   // for an optimizer
 *     const char *name;
 *     tg_sequential_state_at(net, 0, &name);      // "1.weight"
 *     printf("%s %lld %lld\n", name, (long long)tg_shape(y)[1],
 *            (long long)tg_params_count(p));      // 1.weight 3 4
 *
 * Everything is owned by the tape it was made on (use a long-lived one for
 * the model and a step tape for forward passes, as in nn.h). Errors are
 * reported as everywhere: NULL or a negative status, with tg_last_error()
 * naming the call; a NULL argument that comes from a failed call keeps
 * that call's error.
 */
#ifndef TAPEGRAD_SEQUENTIAL_H
#define TAPEGRAD_SEQUENTIAL_H

#include "conv.h"
#include "nn.h"
#include "op.h"
#include "pool.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tg_layer tg_layer;

/*
 * What a kind of layer does. forward computes the output on tape t from
 * x (reading l->training where train and eval differ); set_training, if
 * not NULL, is called by tg_layer_set_training after the flag is set (to
 * reset state, for instance). kind is the layer's kind ("linear").
 */
typedef struct tg_layer_class {
    const char *kind;
    tg_tensor *(*forward)(tg_layer *l, tg_tape *t, tg_tensor *x);
    int (*set_training)(tg_layer *l, bool training);
} tg_layer_class;

/* A layer. Read the fields; change them only through the calls below. */
struct tg_layer {
    const tg_layer_class *cls;
    void *state;                   /* the layer's own, given to _new */
    bool training;                 /* true (the default) or false (eval) */
    int n_params, n_buffers;
    const char **param_names;      /* "weight", "bias" */
    tg_tensor **params;
    const char **buffer_names;     /* "running_mean" */
    tg_tensor **buffers;
    int cap_params, cap_buffers;
    tg_tape *tape;
};

/* A new layer of class cls on t, with state (may be NULL; not copied) and
 * no parameters yet. NULL and TG_EINVAL for a NULL t, cls or forward. */
TG_API tg_layer *tg_layer_new(tg_tape *t, const tg_layer_class *cls,
                              void *state);

/*
 * Give l a parameter (x now requires grad) or a buffer, called name (a
 * non-empty string without '.', copied; each name once per layer).
 * Returns TG_OK, TG_EINVAL or TG_ENOMEM; l is unchanged on failure.
 */
TG_API int tg_layer_add_param(tg_layer *l, const char *name, tg_tensor *x);
TG_API int tg_layer_add_buffer(tg_layer *l, const char *name, tg_tensor *x);

/* The parameter or buffer called name; NULL and TG_ENOTFOUND if none. */
TG_API tg_tensor *tg_layer_param(const tg_layer *l, const char *name);
TG_API tg_tensor *tg_layer_buffer(const tg_layer *l, const char *name);

/* cls->forward(l, t, x), with the NULL checks: a forward is never given
 * a NULL l or x (NULL is returned, keeping the error that made x NULL). */
TG_API tg_tensor *tg_layer_forward(tg_tape *t, tg_layer *l, tg_tensor *x);

/* Set l->training and call cls->set_training. Returns its status. */
TG_API int tg_layer_set_training(tg_layer *l, bool training);

/*
 * The built-in layers.
 *
 * linear: y = x W^T + b with parameters "weight" (out, in) and "bias"
 * (out,), initialised as tg_linear_layer_init (PyTorch's nn.Linear).
 *
 * activation: y = op(x) for the registered one-input op called op_name
 * ("relu", "tanh", "sigmoid", ...; TG_ENOTFOUND naming it if there is
 * none), or for op itself with params (op->params_size bytes, copied; NULL
 * for none), or for a function such as tg_relu (kind names it). No
 * parameters.
 *
 * flatten: y = x reshaped to (x.shape[0], ..., x.shape[start_dim-1],
 * product of the rest), as nn.Flatten(start_dim) (start_dim >= 0; 1 keeps
 * the batch dimension). No parameters.
 */
TG_API tg_layer *tg_layer_linear_new(tg_tape *t, tg_rng *rng, tg_dtype dt,
                                     int64_t in, int64_t out, bool bias);
TG_API tg_layer *tg_layer_activation_new(tg_tape *t, const char *op_name);
TG_API tg_layer *tg_layer_op_new(tg_tape *t, const tg_op *op,
                                 const void *params);
TG_API tg_layer *tg_layer_fn_new(tg_tape *t, tg_activation_fn fn,
                                 const char *kind);
TG_API tg_layer *tg_layer_flatten_new(tg_tape *t, int start_dim);

/*
 * The layers of a convolutional network (issue 13), each PyTorch's module
 * of the same name, with its state-dict names.
 *
 * conv2d: nn.Conv2d(in, out, (kh, kw)) with the stride, padding,
 * dilation and groups of opt (NULL: tg_conv_defaults()), on tg_conv2d.
 * Parameters "weight" (out, in / groups, kh, kw) and, if bias, "bias"
 * (out,), drawn from rng (weight first) as PyTorch's default: U(-b, b)
 * with b = 1 / sqrt(in / groups * kh * kw) (kaiming_uniform with
 * a = sqrt(5)). TG_EINVAL for sizes below 1, a stride or dilation below 1,
 * a negative padding, or groups that do not divide in and out (rng is
 * then not advanced).
 *
 * max_pool2d, avg_pool2d: nn.MaxPool2d / nn.AvgPool2d with the window o
 * (copied; see tg_pool2d_defaults), on tg_max_pool2d / tg_avg_pool2d.
 * adaptive_avg_pool2d: nn.AdaptiveAvgPool2d((oh, ow)). No parameters.
 * TG_EINVAL for o NULL or options the op would refuse.
 *
 * dropout: nn.Dropout(p), on tg_dropout, with a generator of its own
 * seeded with (seed, stream) (tg_rng_seed). In training each forward
 * draws its mask from it; in eval mode the layer is the identity. The
 * generator is the buffer "rng" (6 f64 values), so a checkpoint saves it
 * and a resumed run draws the same masks as one that never stopped (a
 * PyTorch state dict, which has no such entry, then lacks "N.rng").
 * TG_EINVAL for p outside [0, 1).
 *
 * batch_norm: nn.BatchNorm1d/2d(channels, eps, momentum, affine), on
 * tg_batch_norm: inputs (N, C), (N, C, L) or (N, C, H, W). Parameters
 * "weight" (ones) and "bias" (zeros) if affine; buffers "running_mean"
 * (zeros), "running_var" (ones) of dtype dt and "num_batches_tracked" (an
 * f64 scalar, PyTorch's is int64), as PyTorch's state dict. In training
 * it normalises with the batch's statistics and updates the running ones
 * (and counts the batch); in eval mode it uses the running ones. TG_EINVAL
 * for channels below 1, eps not above 0 or momentum outside [0, 1];
 * TG_EDTYPE for a dtype other than f32 and f64.
 *
 *     tg_rng rng;  tg_rng_seed(&rng, 1, 0);
 *     tg_conv_options pad2 = tg_conv_defaults();
 *     pad2.padding[0] = pad2.padding[1] = 2;
 *     tg_pool2d_options two = tg_pool2d_defaults(2, 2);
 *     tg_sequential *net = tg_sequential_new(t);
 *     tg_sequential_add(net, tg_layer_conv2d_new(t, &rng, TG_F32, 1, 6, 5, 5,
 *                                                &pad2, true));
 *     tg_sequential_add(net, tg_layer_batch_norm_new(t, TG_F32, 6, 1e-5,
 *                                                    0.1, true));
 *     tg_sequential_add(net, tg_layer_activation_new(t, "relu"));
 *     tg_sequential_add(net, tg_layer_max_pool2d_new(t, &two));
 *     tg_sequential_add(net, tg_layer_dropout_new(t, 0.25, 42, 0));
 *     int64_t shape[] = {2, 1, 28, 28};
 *     tg_tensor *y = tg_sequential_forward(t, net,
 *                                          tg_ones(t, TG_F32, 4, shape));
 *     const char *name;
 *     tg_sequential_state_at(net, 4, &name);
 *     printf("%lld %s\n", (long long)tg_shape(y)[2], name);  // 14 1.running_mean
 */
TG_API tg_layer *tg_layer_conv2d_new(tg_tape *t, tg_rng *rng, tg_dtype dt,
                                     int64_t in, int64_t out, int64_t kh,
                                     int64_t kw, const tg_conv_options *opt,
                                     bool bias);
TG_API tg_layer *tg_layer_max_pool2d_new(tg_tape *t,
                                         const tg_pool2d_options *o);
TG_API tg_layer *tg_layer_avg_pool2d_new(tg_tape *t,
                                         const tg_pool2d_options *o);
TG_API tg_layer *tg_layer_adaptive_avg_pool2d_new(tg_tape *t, int64_t oh,
                                                  int64_t ow);
TG_API tg_layer *tg_layer_dropout_new(tg_tape *t, double p, uint64_t seed,
                                      uint64_t stream);
TG_API tg_layer *tg_layer_batch_norm_new(tg_tape *t, tg_dtype dt,
                                         int64_t channels, double eps,
                                         double momentum, bool affine);

/* ---- The sequential container ------------------------------------------- */

typedef struct tg_sequential tg_sequential;

/* A new, empty container on t (training mode). */
TG_API tg_sequential *tg_sequential_new(tg_tape *t);

/*
 * Append layer l, named by its index ("0", "1", ...) or by name (a
 * non-empty string without '.', distinct from the other layers' names).
 * Its parameters and buffers are then "NAME.weight" and so on, as in a
 * PyTorch state dict. l takes the container's train/eval mode. Returns
 * TG_OK, TG_EINVAL (NULL, a bad or repeated name, a layer already in s)
 * or TG_ENOMEM; s is unchanged on failure. A layer may be in two
 * containers (they then share its parameters).
 */
TG_API int tg_sequential_add(tg_sequential *s, tg_layer *l);
TG_API int tg_sequential_add_named(tg_sequential *s, const char *name,
                                   tg_layer *l);

/* Run x through the layers in order on tape t. A relu activation layer
 * followed by a max pool layer runs as one op, tg_relu_max_pool2d (the
 * same values and gradients, with less memory traffic). So do a flatten
 * layer from axis 1 followed by a linear layer, and a linear layer
 * followed by a relu activation layer (or all three in a row): one
 * recorded op (shown as "linear_fused" in tg_tape_print and tg_tape_dot)
 * that reads x's rows in place and applies the relu inside the matrix
 * product, with the same values and gradients, bit for bit, as the
 * layers one by one (tg_layer_forward), to every order. An input whose
 * size or dtype does not fit runs the layers one by one, which report
 * the error. */
TG_API tg_tensor *tg_sequential_forward(tg_tape *t, tg_sequential *s,
                                        tg_tensor *x);

/* Put every layer in training (true) or eval (false) mode. */
TG_API int tg_sequential_set_training(tg_sequential *s, bool training);

/* How many layers; the i-th (NULL and TG_EINVAL outside 0..count-1); its
 * name (NULL likewise), owned by s's tape like the layer itself. */
TG_API int tg_sequential_count(const tg_sequential *s);
TG_API tg_layer *tg_sequential_at(const tg_sequential *s, int i);
TG_API const char *tg_sequential_name(const tg_sequential *s, int i);

/*
 * Every layer's parameters, in order, as a parameter list on s's tape
 * (the same list each call; parameters added since the last call are
 * appended to it).
 * Give it to an optimizer after adding the layers.
 */
TG_API tg_params *tg_sequential_params(tg_sequential *s);

/*
 * The state dict: every parameter and buffer, layer by layer (a layer's
 * parameters, then its buffers), as "NAME.param". tg_sequential_state_count
 * says how many; tg_sequential_state_at returns the i-th and sets *name
 * (name may be NULL; NULL and TG_EINVAL outside 0..count-1).
 */
TG_API int tg_sequential_state_count(const tg_sequential *s);
TG_API tg_tensor *tg_sequential_state_at(const tg_sequential *s, int i,
                                         const char **name);

#ifdef __cplusplus
}
#endif

#endif /* TAPEGRAD_SEQUENTIAL_H */
