#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <tapegrad.h>
static int ok1, ok2;
tg_tensor *tg_conv2d(tg_tape *t, tg_tensor *x, tg_tensor *w, tg_tensor *b, const tg_conv_options *o){
  static tg_tensor *(*real)(tg_tape *, tg_tensor *, tg_tensor *, tg_tensor *, const tg_conv_options *);
  if (!real) real = dlsym(RTLD_NEXT, "tg_conv2d");
  tg_tensor *y = real(t, x, w, b, o); if (y) ok2++; return y; }
tg_tensor *tg_conv1d(tg_tape *t, tg_tensor *x, tg_tensor *w, tg_tensor *b, const tg_conv_options *o){
  static tg_tensor *(*real)(tg_tape *, tg_tensor *, tg_tensor *, tg_tensor *, const tg_conv_options *);
  if (!real) real = dlsym(RTLD_NEXT, "tg_conv1d");
  tg_tensor *y = real(t, x, w, b, o); if (y) ok1++; return y; }
__attribute__((destructor)) static void report(void){ fprintf(stderr, "conv1d ok %d conv2d ok %d\n", ok1, ok2); }
