/*
 * builtin.h — the list of built-in ops. Each op file defines
 * `const tg_op tg__op_<name>`; adding an op means adding its name here.
 */
#ifndef TG_BUILTIN_H
#define TG_BUILTIN_H

#include "internal.h"

#define TG__BUILTIN_OPS(X) \
    X(relu)                \
    X(sum)

#define TG__DECLARE_OP(name) extern const tg_op tg__op_##name;
TG__BUILTIN_OPS(TG__DECLARE_OP)
#undef TG__DECLARE_OP

#endif /* TG_BUILTIN_H */
