// DY-ReLU's two passes over NHWC rows (one row = one pixel's channels), included at the end of shim.h. Each pass
// takes a range of rows so the threads can split a sample (or a batch) between them:
//   pooling: per-channel sums of the rows (the hyper network's GAP) and, for DY-ReLU-C, the spatial
//            branch's logit z[p] = bias + w . x[p] of each row, in the same read of the input;
//   apply:   y = max_k (a_k x + b_k), times min(scale * e[p], 1) for DY-ReLU-C, one read and one write.
// AVX2 + FMA versions chosen at run time by the Swift side (like the kernels in shim.h), portable ones
// otherwise.
#ifndef DYSERVE_CDNNL_DYRELU_H
#define DYSERVE_CDNNL_DYRELU_H

#include <immintrin.h>
#include <stddef.h>

/// sums[c] += x[p * channels + c] over rows p < rows; with `w` (DY-ReLU-C), z[p] = bias + sum_c w[c] x[p, c].
static inline void dy_dyrelu_pool_rows_portable(const float *x, int rows, int channels, float *sums,
                                                const float *w, float bias, float *z) {
    for (int p = 0; p < rows; p++) {
        const float *row = x + (size_t)p * channels;
        for (int c = 0; c < channels; c++) sums[c] += row[c];
        if (w) {
            float s = bias;
            for (int c = 0; c < channels; c++) s += w[c] * row[c];
            z[p] = s;
        }
    }
}

/// The same with AVX2: the running sums stay in L1 (read and written once per row), so the input is
/// read once, in memory order.
__attribute__((target("avx2,fma")))
static inline void dy_dyrelu_pool_rows_avx2(const float *x, int rows, int channels, float *sums,
                                            const float *w, float bias, float *z) {
    for (int p = 0; p < rows; p++) {
        const float *row = x + (size_t)p * channels;
        __m256 dot = _mm256_setzero_ps();
        int c = 0;
        for (; c + 8 <= channels; c += 8) {
            __m256 v = _mm256_loadu_ps(row + c);
            _mm256_storeu_ps(sums + c, _mm256_add_ps(_mm256_loadu_ps(sums + c), v));
            if (w) dot = _mm256_fmadd_ps(_mm256_loadu_ps(w + c), v, dot);
        }
        float s = bias;
        if (w) s += dy_sum8_avx2(dot);
        for (; c < channels; c++) {
            sums[c] += row[c];
            if (w) s += w[c] * row[c];
        }
        if (w) z[p] = s;
    }
}

/// DY-ReLU-C's spatial attention of row p, min(scale * e[p], 1); 1 without the spatial branch (e NULL).
static inline float dy_dyrelu_map(const float *e, int p, float scale) {
    if (!e) return 1.0f;
    float m = scale * e[p];
    return m > 1.0f ? 1.0f : m;
}

/// y[p, c] = max_k (a[k * channels + c] x[p, c] + b[k * channels + c]) for rows p < rows, times
/// min(scale * e[p], 1) when `e` is given (DY-ReLU-C's spatial attention from its unnormalised softmax
/// weights e and scale = gamma / sum e). May run in place (y == x).
static inline void dy_dyrelu_apply_rows_portable(const float *x, float *y, int rows, int channels, int pieces,
                                                 const float *a, const float *b, const float *e, float scale) {
    for (int p = 0; p < rows; p++) {
        const float *s = x + (size_t)p * channels;
        float *t = y + (size_t)p * channels;
        const float m = dy_dyrelu_map(e, p, scale);
        for (int c = 0; c < channels; c++) {
            float v = s[c];
            float out = a[c] * v + b[c];
            for (int k = 1; k < pieces; k++) {
                float line = a[(size_t)k * channels + c] * v + b[(size_t)k * channels + c];
                if (line > out) out = line;
            }
            t[c] = e ? out * m : out;
        }
    }
}

/// The same with AVX2 + FMA, 8 channels per step; two pieces (the paper's K) without the inner loop.
__attribute__((target("avx2,fma")))
static inline void dy_dyrelu_apply_rows_avx2(const float *x, float *y, int rows, int channels, int pieces,
                                             const float *a, const float *b, const float *e, float scale) {
    const size_t stride = (size_t)channels;
    for (int p = 0; p < rows; p++) {
        const float *s = x + (size_t)p * channels;
        float *t = y + (size_t)p * channels;
        const float m = dy_dyrelu_map(e, p, scale);
        const __m256 mv = _mm256_set1_ps(m);
        int c = 0;
        if (pieces == 2) {
            for (; c + 8 <= channels; c += 8) {
                __m256 v = _mm256_loadu_ps(s + c);
                __m256 out = _mm256_fmadd_ps(_mm256_loadu_ps(a + c), v, _mm256_loadu_ps(b + c));
                __m256 line = _mm256_fmadd_ps(_mm256_loadu_ps(a + stride + c), v, _mm256_loadu_ps(b + stride + c));
                out = _mm256_max_ps(out, line);
                if (e) out = _mm256_mul_ps(out, mv);
                _mm256_storeu_ps(t + c, out);
            }
        } else {
            for (; c + 8 <= channels; c += 8) {
                __m256 v = _mm256_loadu_ps(s + c);
                __m256 out = _mm256_fmadd_ps(_mm256_loadu_ps(a + c), v, _mm256_loadu_ps(b + c));
                for (int k = 1; k < pieces; k++) {
                    __m256 line = _mm256_fmadd_ps(_mm256_loadu_ps(a + k * stride + c), v, _mm256_loadu_ps(b + k * stride + c));
                    out = _mm256_max_ps(out, line);
                }
                if (e) out = _mm256_mul_ps(out, mv);
                _mm256_storeu_ps(t + c, out);
            }
        }
        for (; c < channels; c++) {
            float v = s[c];
            float out = a[c] * v + b[c];
            for (int k = 1; k < pieces; k++) {
                float line = a[k * stride + c] * v + b[k * stride + c];
                if (line > out) out = line;
            }
            t[c] = e ? out * m : out;
        }
    }
}

#endif
