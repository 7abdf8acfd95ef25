/*
 * conv_direct.h — the instruction-set-specific loops of the direct
 * one-channel convolution kernel (conv_direct.c drives them; its header
 * comment says what they compute). xp is the zero-padded plane of one
 * sample (forward) or of every sample, planes (oh + kh - 1) wp apart
 * (weight gradient), rows wp apart.
 */
#ifndef TG_OPS_CONV_DIRECT_H
#define TG_OPS_CONV_DIRECT_H

#include "ops/conv_kernel.h"

#if defined(__GNUC__) && defined(__x86_64__)
#define TG__DIRECT_X86 1
#else
#define TG__DIRECT_X86 0
#endif

/* The AVX-512 conv kernels force their small helpers inline so that the
 * block sizes become constants and the loops unroll into registers. Under
 * AddressSanitizer that made clang spend minutes of CPU on each of those
 * files (over 200 s for conv_direct_avx512.c, 2 s without the forcing),
 * so there the helpers are only `inline`: the same code, slower, in
 * sanitizer builds alone; release builds are unchanged. */
#if defined(__SANITIZE_ADDRESS__)
#define TG__CONV_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TG__CONV_ASAN 1
#endif
#endif
#ifdef TG__CONV_ASAN
#define TG__CONV_INLINE inline
#else
#define TG__CONV_INLINE inline __attribute__((always_inline))
#endif

#if TG__DIRECT_X86
/* AVX-512 (conv_direct_avx512.c). y: the sample's output (o, oh, ow),
 * written; gw: the weight gradient, output channel o's taps written. */
void tg__conv_direct512_fwd_sample(const tg__conv_geom *g, const float *xp,
                                   int64_t wp, const float *w,
                                   const float *bias, float *y);
void tg__conv_direct512_wgrad_channel(const tg__conv_geom *g, const float *xp,
                                      int64_t wp, const float *gy, int64_t o,
                                      float *gw);
#endif

#endif /* TG_OPS_CONV_DIRECT_H */
