// DY-ReLU's passes over NHWC rows (one row = one pixel's channels), included at the end of shim.h. Each pass
// takes a range of rows so the threads can split a sample (or a batch) between them:
//   pooling:      per-channel sums of the rows (the hyper network's GAP) and, for DY-ReLU-C, the spatial
//                 branch's logit z[p] = bias + w . x[p] of each row, in the same read of the input;
//   coefficients: the hyper network's FC2 outputs squashed to [-1, 1] and scattered into the slopes and
//                 intercepts of the coefficient layout;
//   apply:        y = max_k (a_k x + b_k), times min(scale * e[p], 1) for DY-ReLU-C, one read and one write.
// AVX2 + FMA versions on x86-64, chosen at run time through the `avx2` argument of the dispatching
// functions (the Swift side passes what oneDNN reports), portable ones otherwise and on other CPUs.
#ifndef DYSERVE_CDNNL_DYRELU_H
#define DYSERVE_CDNNL_DYRELU_H

#include <stddef.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

/// Rows per tile of the tiled AVX2 passes: a tile's rows (up to 16 x 4 KiB at 1024 channels) stay in L1
/// while each block of channels sweeps them, so the block's running sums or coefficients live in registers
/// and the tile is still read from memory once.
#define DY_DYRELU_TILE_ROWS 16

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

/// DY-ReLU-C's spatial attention of row p, min(scale * e[p], 1); 1 without the spatial branch (e NULL).
static inline float dy_dyrelu_map(const float *e, int p, float scale) {
    if (!e) return 1.0f;
    float m = scale * e[p];
    return m > 1.0f ? 1.0f : m;
}

/// One row's channels [c, channels) of the apply pass, scalar: the tails the vector loops leave.
static inline void dy_dyrelu_apply_tail(const float *s, float *t, int c, int channels, int pieces,
                                        const float *a, const float *b, int spatial, float m) {
    const size_t stride = (size_t)channels;
    for (; c < channels; c++) {
        float v = s[c];
        float out = a[c] * v + b[c];
        for (int k = 1; k < pieces; k++) {
            float line = a[k * stride + c] * v + b[k * stride + c];
            if (line > out) out = line;
        }
        t[c] = spatial ? out * m : out;
    }
}

/// y[p, c] = max_k (a[k * channels + c] x[p, c] + b[k * channels + c]) for rows p < rows, times
/// min(scale * e[p], 1) when `e` is given (DY-ReLU-C's spatial attention from its unnormalised softmax
/// weights e and scale = gamma / sum e). May run in place (y == x).
static inline void dy_dyrelu_apply_rows_portable(const float *x, float *y, int rows, int channels, int pieces,
                                                 const float *a, const float *b, const float *e, float scale) {
    for (int p = 0; p < rows; p++) {
        dy_dyrelu_apply_tail(x + (size_t)p * channels, y + (size_t)p * channels, 0, channels, pieces, a, b,
                             e != 0, dy_dyrelu_map(e, p, scale));
    }
}

/// The squash of one FC2 output: 2 sigmoid(z) - 1 (`sigmoid` != 0, the paper's), else the hard sigmoid's
/// 2 relu6(z + 3) / 6 - 1. The sigmoid in the reference's form, without overflow for either sign. (The
/// compiler's expf, so the header needs no <math.h>: it is also checked freestanding for aarch64.)
static inline float dy_dyrelu_squash(float z, int sigmoid) {
    if (sigmoid) {
        float s;
        if (z >= 0) {
            s = 1.0f / (1.0f + __builtin_expf(-z));
        } else {
            float e = __builtin_expf(z);
            s = e / (1.0f + e);
        }
        return 2.0f * s - 1.0f;
    }
    float h = z + 3.0f;
    h = h < 0.0f ? 0.0f : (h > 6.0f ? 6.0f : h);
    return 2.0f * h / 6.0f - 1.0f;
}

/// Stores output o's coefficient, offset[o] + gain[o] * theta: at slopes[target[o]] when target[o] >= 0,
/// else at intercepts[-1 - target[o]].
static inline void dy_dyrelu_store_coefficient(int o, float theta, const int *target, const float *offset,
                                               const float *gain, float *slopes, float *intercepts) {
    const float value = offset[o] + gain[o] * theta;
    const int d = target[o];
    if (d >= 0) slopes[d] = value;
    else intercepts[-1 - d] = value;
}

/// DY-ReLU-B and -C's coefficients from FC2 outputs z[o], o in [o0, o1): each squashed (`dy_dyrelu_squash`)
/// and stored by `dy_dyrelu_store_coefficient` (per output: where it goes, alpha_k or beta_k, and lambda).
static inline void dy_dyrelu_coefficients_portable(const float *z, int o0, int o1, int sigmoid, const int *target,
                                                   const float *offset, const float *gain, float *slopes,
                                                   float *intercepts) {
    for (int o = o0; o < o1; o++) {
        dy_dyrelu_store_coefficient(o, dy_dyrelu_squash(z[o], sigmoid), target, offset, gain, slopes, intercepts);
    }
}

#if defined(__x86_64__)
/// The pooling with AVX2. Without the spatial branch, in tiles of rows (shim.h's
/// `dy_channel_sums_accumulate_avx2` on each): each block of 32 channels keeps its running sums in registers
/// over the tile's rows, each channel still summed in row order, so the sums are the portable loop's bit for
/// bit. With it, row by row, the sums in L1 and the row's dot product in the same read.
__attribute__((target("avx2,fma")))
static inline void dy_dyrelu_pool_rows_avx2(const float *x, int rows, int channels, float *sums,
                                            const float *w, float bias, float *z) {
    if (!w) {
        for (int p0 = 0; p0 < rows; p0 += DY_DYRELU_TILE_ROWS) {
            const int p1 = p0 + DY_DYRELU_TILE_ROWS < rows ? p0 + DY_DYRELU_TILE_ROWS : rows;
            dy_channel_sums_accumulate_avx2(x + (size_t)p0 * channels, p1 - p0, channels, channels, sums);
        }
        return;
    }
    for (int p = 0; p < rows; p++) {
        const float *row = x + (size_t)p * channels;
        __m256 dot = _mm256_setzero_ps();
        int c = 0;
        for (; c + 8 <= channels; c += 8) {
            __m256 v = _mm256_loadu_ps(row + c);
            _mm256_storeu_ps(sums + c, _mm256_add_ps(_mm256_loadu_ps(sums + c), v));
            dot = _mm256_fmadd_ps(_mm256_loadu_ps(w + c), v, dot);
        }
        float s = bias + dy_sum8_avx2(dot);
        for (; c < channels; c++) {
            sums[c] += row[c];
            s += w[c] * row[c];
        }
        z[p] = s;
    }
}

/// e^x for 8 floats with AVX2 + FMA: x = n ln 2 + r with |r| <= ln 2 / 2, e^r by its Taylor polynomial of
/// degree 6 (relative error below 2e-7 on that interval), times 2^n built in the exponent bits. Inputs are
/// clamped to [-87, 88], where 2^n stays a normal float; the squash below needs no more range.
__attribute__((target("avx2,fma")))
static inline __m256 dy_exp8_avx2(__m256 x) {
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.0f)), _mm256_set1_ps(88.0f));
    const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504089f)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    // ln 2 in two parts, so n * ln2_high is exact and r keeps its low bits.
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.0f / 720.0f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    const __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(bits));
}

/// The coefficients with AVX2: 8 outputs squashed at once (the sigmoid as 2 / (1 + e^-z) - 1 with
/// `dy_exp8_avx2`), then stored one by one, since the layout scatters them.
__attribute__((target("avx2,fma")))
static inline void dy_dyrelu_coefficients_avx2(const float *z, int o0, int o1, int sigmoid, const int *target,
                                               const float *offset, const float *gain, float *slopes,
                                               float *intercepts) {
    int o = o0;
    float theta[8];
    for (; o + 8 <= o1; o += 8) {
        const __m256 v = _mm256_loadu_ps(z + o);
        __m256 t;
        if (sigmoid) {
            const __m256 one = _mm256_set1_ps(1.0f);
            const __m256 e = dy_exp8_avx2(_mm256_sub_ps(_mm256_setzero_ps(), v));
            t = _mm256_sub_ps(_mm256_div_ps(_mm256_set1_ps(2.0f), _mm256_add_ps(one, e)), one);
        } else {
            __m256 h = _mm256_add_ps(v, _mm256_set1_ps(3.0f));
            h = _mm256_min_ps(_mm256_max_ps(h, _mm256_setzero_ps()), _mm256_set1_ps(6.0f));
            t = _mm256_sub_ps(_mm256_div_ps(_mm256_mul_ps(_mm256_set1_ps(2.0f), h), _mm256_set1_ps(6.0f)), _mm256_set1_ps(1.0f));
        }
        _mm256_storeu_ps(theta, t);
        for (int j = 0; j < 8; j++) dy_dyrelu_store_coefficient(o + j, theta[j], target, offset, gain, slopes, intercepts);
    }
    dy_dyrelu_coefficients_portable(z, o, o1, sigmoid, target, offset, gain, slopes, intercepts);
}

/// The apply pass with AVX2 + FMA. Two pieces (the paper's K), in tiles of rows: each block of 16 channels
/// holds its 8 coefficient vectors in registers over the tile's rows, where a row-by-row loop reloads
/// them for every 8 values. Other piece counts row by row, 8 channels per step.
__attribute__((target("avx2,fma")))
static inline void dy_dyrelu_apply_rows_avx2(const float *x, float *y, int rows, int channels, int pieces,
                                             const float *a, const float *b, const float *e, float scale) {
    const size_t stride = (size_t)channels;
    if (pieces == 2) {
        for (int p0 = 0; p0 < rows; p0 += DY_DYRELU_TILE_ROWS) {
            const int p1 = p0 + DY_DYRELU_TILE_ROWS < rows ? p0 + DY_DYRELU_TILE_ROWS : rows;
            int c = 0;
            for (; c + 16 <= channels; c += 16) {
                const __m256 a00 = _mm256_loadu_ps(a + c), a01 = _mm256_loadu_ps(a + c + 8);
                const __m256 a10 = _mm256_loadu_ps(a + stride + c), a11 = _mm256_loadu_ps(a + stride + c + 8);
                const __m256 b00 = _mm256_loadu_ps(b + c), b01 = _mm256_loadu_ps(b + c + 8);
                const __m256 b10 = _mm256_loadu_ps(b + stride + c), b11 = _mm256_loadu_ps(b + stride + c + 8);
                for (int p = p0; p < p1; p++) {
                    const float *s = x + (size_t)p * stride + c;
                    float *t = y + (size_t)p * stride + c;
                    __m256 v0 = _mm256_loadu_ps(s), v1 = _mm256_loadu_ps(s + 8);
                    __m256 o0 = _mm256_max_ps(_mm256_fmadd_ps(a00, v0, b00), _mm256_fmadd_ps(a10, v0, b10));
                    __m256 o1 = _mm256_max_ps(_mm256_fmadd_ps(a01, v1, b01), _mm256_fmadd_ps(a11, v1, b11));
                    if (e) {
                        const __m256 mv = _mm256_set1_ps(dy_dyrelu_map(e, p, scale));
                        o0 = _mm256_mul_ps(o0, mv);
                        o1 = _mm256_mul_ps(o1, mv);
                    }
                    _mm256_storeu_ps(t, o0);
                    _mm256_storeu_ps(t + 8, o1);
                }
            }
            if (c < channels) {
                for (int p = p0; p < p1; p++) {
                    const float *s = x + (size_t)p * stride;
                    float *t = y + (size_t)p * stride;
                    const float m = dy_dyrelu_map(e, p, scale);
                    int d = c;
                    for (; d + 8 <= channels; d += 8) {
                        __m256 v = _mm256_loadu_ps(s + d);
                        __m256 out = _mm256_max_ps(_mm256_fmadd_ps(_mm256_loadu_ps(a + d), v, _mm256_loadu_ps(b + d)),
                                                   _mm256_fmadd_ps(_mm256_loadu_ps(a + stride + d), v, _mm256_loadu_ps(b + stride + d)));
                        if (e) out = _mm256_mul_ps(out, _mm256_set1_ps(m));
                        _mm256_storeu_ps(t + d, out);
                    }
                    dy_dyrelu_apply_tail(s, t, d, channels, pieces, a, b, e != 0, m);
                }
            }
        }
        return;
    }
    for (int p = 0; p < rows; p++) {
        const float *s = x + (size_t)p * channels;
        float *t = y + (size_t)p * channels;
        const float m = dy_dyrelu_map(e, p, scale);
        const __m256 mv = _mm256_set1_ps(m);
        int c = 0;
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
        dy_dyrelu_apply_tail(s, t, c, channels, pieces, a, b, e != 0, m);
    }
}
#endif

/// The pooling, AVX2 when `avx2` != 0 on an x86-64 CPU that has it, portable otherwise.
static inline void dy_dyrelu_pool_rows(const float *x, int rows, int channels, float *sums, const float *w, float bias,
                                       float *z, int avx2) {
#if defined(__x86_64__)
    if (avx2) {
        dy_dyrelu_pool_rows_avx2(x, rows, channels, sums, w, bias, z);
        return;
    }
#endif
    (void)avx2;
    dy_dyrelu_pool_rows_portable(x, rows, channels, sums, w, bias, z);
}

/// The apply pass, AVX2 when `avx2` != 0 on an x86-64 CPU that has it, portable otherwise.
static inline void dy_dyrelu_apply_rows(const float *x, float *y, int rows, int channels, int pieces, const float *a,
                                        const float *b, const float *e, float scale, int avx2) {
#if defined(__x86_64__)
    if (avx2) {
        dy_dyrelu_apply_rows_avx2(x, y, rows, channels, pieces, a, b, e, scale);
        return;
    }
#endif
    (void)avx2;
    dy_dyrelu_apply_rows_portable(x, y, rows, channels, pieces, a, b, e, scale);
}

/// The coefficients, AVX2 when `avx2` != 0 on an x86-64 CPU that has it, portable otherwise.
static inline void dy_dyrelu_coefficients(const float *z, int o0, int o1, int sigmoid, const int *target,
                                          const float *offset, const float *gain, float *slopes, float *intercepts,
                                          int avx2) {
#if defined(__x86_64__)
    if (avx2) {
        dy_dyrelu_coefficients_avx2(z, o0, o1, sigmoid, target, offset, gain, slopes, intercepts);
        return;
    }
#endif
    (void)avx2;
    dy_dyrelu_coefficients_portable(z, o0, o1, sigmoid, target, offset, gain, slopes, intercepts);
}

#endif
