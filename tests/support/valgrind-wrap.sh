#!/bin/sh
# `meson test --setup valgrind` runs every test through this script.
#
# A compiled test runs under valgrind, and any error or leak fails it.
# A test driven by Python runs as it is, with TG_RUN_WRAPPER set, and runs
# the programs it starts under valgrind: the interpreter and the modules it
# loads (numpy) are not ours to check, and they are not leak-clean.
VG="valgrind --error-exitcode=99 --leak-check=full -q
    --errors-for-leak-kinds=definite,indirect,possible
    --show-leak-kinds=definite,indirect,possible"
case "${1##*/}" in
python*)
    TG_RUN_WRAPPER=$(echo $VG)
    export TG_RUN_WRAPPER
    exec "$@"
    ;;
esac
exec $VG "$@"
