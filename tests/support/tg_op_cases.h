/*
 * tg_op_cases.h — one small, valid call of every built-in op, for suites
 * that walk the op registry (tg_op_count / tg_op_at) and need inputs for
 * whatever op they find.
 *
 * A case names its op as registered, says how many inputs it takes and
 * their shapes, and calls the op's public function on them. A suite looks
 * each registered op up with tg_op_case_find and fails when one has no
 * case, so a new op must get a line here before the suites pass again.
 *
 * The one table of every op: tests/test_ops_registry.c gradient-checks
 * every row (first and second derivatives, forward against reverse
 * mode), tests/test_null_grad.c runs each op's first row through every
 * NULL-gradient path and checks that every row records its op. An op may
 * have second rows (other shapes, another call), after the first rows:
 * tg_op_case_find gives the first.
 */
#ifndef TG_OP_CASES_H
#define TG_OP_CASES_H

#include "tapegrad.h"

/* Call the case's op on in[0..n-1] (the public function, with the
 * case's parameters). */
typedef tg_tensor *(*tg_op_build_fn)(tg_tape *t, tg_tensor *const *in);

typedef struct tg_op_case {
    const char *name;        /* as registered */
    tg_op_build_fn build;
    int n;                   /* inputs */
    int64_t shape[3][3];     /* each input's shape; ndim = sizes > 0 */
    bool positive;           /* draw inputs in [0.5, 2), not N(0, 1) */
    /* Shapes under which inputs 0 and 1 may be one and the same tensor
     * (all zero for ops with one input; read from an op's first row). */
    int64_t alias[3][3];
    /* What gradient checks differentiate, for an op whose output carries
     * no gradient (a mask, positions): build inside a product or a sum.
     * NULL: build itself. */
    tg_op_build_fn differentiable;
} tg_op_case;

extern const tg_op_case tg_op_cases[];
extern const int tg_op_n_cases;

/* The case of the op named name, or NULL. */
const tg_op_case *tg_op_case_find(const char *name);

/* The number of dimensions of a case's shape row. */
int tg_op_case_ndim(const int64_t *shape);

/*
 * A leaf of the case's k-th input (shape from shapes[k], shapes being
 * c->shape or c->alias) on t, drawn from a generator seeded with seed: the
 * same seed gives the same values on any tape. requires_grad is false.
 */
tg_tensor *tg_op_case_input(tg_tape *t, const tg_op_case *c,
                            const int64_t (*shapes)[3], int k, tg_dtype dt,
                            uint64_t seed);

#endif /* TG_OP_CASES_H */
