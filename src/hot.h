/*
 * hot.h — TG__HOT, a compiler hint that any file of the library may use
 * (the nn files too: it is not an internal API, only a way to compile a
 * function).
 */
#ifndef TG_HOT_H
#define TG_HOT_H

/*
 * TG__HOT marks a function whose loops should use the widest vectors the
 * machine has: GCC and clang compile it three times (AVX-512, AVX2 and the
 * baseline) and the dynamic loader picks one when the library is loaded.
 * Elsewhere it expands to nothing and the baseline is all there is.
 */
/* ThreadSanitizer instruments the loader's ifunc resolvers, which run
 * before its runtime is set up and crash: no clones under it. */
#if defined(__SANITIZE_THREAD__)
#define TG__NO_CLONES 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TG__NO_CLONES 1
#endif
#endif
#if defined(__x86_64__) && defined(__ELF__) && !defined(TG__NO_CLONES) && \
    (defined(__clang__) ? __clang_major__ >= 14 : __GNUC__ >= 6)
#define TG__HOT __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define TG__HOT
#endif

#endif /* TG_HOT_H */
