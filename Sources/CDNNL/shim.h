// oneDNN's C API (Debian libdnnl-dev, oneDNN 2.6), imported into Swift as the module CDNNL, plus the
// few memory-bound loops of the fast backend that Swift cannot vectorise without a -march flag.
// Only DyNN's fast backend imports this module; the service never does.
//
// Why C here: Swift's SIMD types become AVX2/FMA code only when the whole target is built for such
// a CPU, and a binary built that way crashes on older CPUs. Clang's `target` attribute compiles just
// these functions for AVX2 + FMA + F16C; the Swift side calls them only after oneDNN reports that
// the CPU has AVX2 (every AVX2 CPU has F16C), and otherwise calls the portable versions.
//
// Portability: the AVX2 kernels exist only when compiling for x86-64; every other CPU (arm64) gets the
// portable loops alone. The Swift side calls only the portable-or-AVX2 entry points (`dy_matvec`,
// `dy_aggregate`, `dy_aggregate_pair`, `dy_normalize_run`, `dy_channel_sums`, `dy_fc_rows`, ...),
// never an `_avx2` function by name, and asks `dy_avx2_kernels_enabled()` before passing avx2 = 1.
// Defining DYSERVE_PORTABLE_KERNELS (`-Xcc -DDYSERVE_PORTABLE_KERNELS`) makes an x86-64 build use the
// portable loops too, which is how the tests check them here (scripts/portable-kernels-test.sh).
#ifndef DYSERVE_CDNNL_SHIM_H
#define DYSERVE_CDNNL_SHIM_H

#include <dnnl.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__x86_64__)
#define DY_X86_64 1
#include <immintrin.h>
#else
#define DY_X86_64 0
#endif

/// Whether the AVX2 kernels may be used (the caller still checks that the CPU has AVX2).
static inline int dy_avx2_kernels_enabled(void) {
#if DY_X86_64 && !defined(DYSERVE_PORTABLE_KERNELS)
    return 1;
#else
    return 0;
#endif
}

/// IEEE half to float, portable (no F16C).
static inline float dy_half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exponent = (h >> 10) & 0x1fu;
    uint32_t mantissa = h & 0x3ffu;
    uint32_t bits;
    if (exponent == 0) {
        if (mantissa == 0) {
            bits = sign;
        } else { // subnormal half: normalise
            int shift = 0;
            while ((mantissa & 0x400u) == 0) { mantissa <<= 1; shift++; }
            mantissa &= 0x3ffu;
            bits = sign | ((uint32_t)(127 - 15 - shift + 1) << 23) | (mantissa << 13);
        }
    } else if (exponent == 31) {
        bits = sign | 0x7f800000u | (mantissa << 13);
    } else {
        bits = sign | ((exponent + 127 - 15) << 23) | (mantissa << 13);
    }
    float f;
    __builtin_memcpy(&f, &bits, sizeof f);
    return f;
}

/// Element i of fp32 weights, or (half != 0) of IEEE half weights converted.
static inline float dy_load1(const void *weights, int half, size_t i) {
    return half ? dy_half_to_float(((const uint16_t *)weights)[i]) : ((const float *)weights)[i];
}

/// Elements per entry of a gate chunk map: a squeeze-excitation gate folded into a convolution's weights
/// scales each weight by the gate of its input channel, and oneDNN's blocked weight layouts keep runs
/// of 8 (or 16) weights of one input channel, or of 8 consecutive input channels, together. So a map
/// holds one entry per 8 weights, not one per weight: `c >= 0`, all 8 weights belong to channel c;
/// `c < 0`, weight j of the 8 belongs to channel `~c + j`. `FastGateChunks` builds it.
#define DY_GATE_CHUNK 8

/// The gate of element i of a chunk-mapped weight layout (see DY_GATE_CHUNK).
static inline float dy_chunk_gate(const float *gate, const int32_t *chunks, size_t i) {
    int32_t c = chunks[i / DY_GATE_CHUNK];
    return c >= 0 ? gate[c] : gate[~c + (int32_t)(i % DY_GATE_CHUNK)];
}

/// out[i] = sum_k pi[k] * bank[k * stride + i] for i < count (`count` <= `stride`: a slice of the bank
/// when the work is split across threads). One sample's kernel; portable version (any CPU). With a
/// `gate` (else NULL), each sum is then multiplied by its input channel's gate (`chunks`: the slice's
/// gate chunk map, the slice starting at a multiple of DY_GATE_CHUNK).
static inline void dy_aggregate_f32_portable(const float *bank, size_t stride, size_t count, int experts,
                                             const float *pi, const float *gate, const int32_t *chunks, float *out) {
    for (size_t i = 0; i < count; i++) out[i] = pi[0] * bank[i];
    for (int k = 1; k < experts; k++) {
        const float *e = bank + (size_t)k * stride;
        float pk = pi[k];
        for (size_t i = 0; i < count; i++) out[i] += pk * e[i];
    }
    if (gate) for (size_t i = 0; i < count; i++) out[i] *= dy_chunk_gate(gate, chunks, i);
}

/// Aggregation over experts stored as IEEE half; products and sums in fp32. Portable.
static inline void dy_aggregate_f16_portable(const uint16_t *bank, size_t stride, size_t count, int experts,
                                             const float *pi, const float *gate, const int32_t *chunks, float *out) {
    for (size_t i = 0; i < count; i++) {
        float s = pi[0] * dy_half_to_float(bank[i]);
        for (int k = 1; k < experts; k++) s += pi[k] * dy_half_to_float(bank[(size_t)k * stride + i]);
        out[i] = gate ? s * dy_chunk_gate(gate, chunks, i) : s;
    }
}

/// y[r] = bias[r] + sum_i w[r * cols + i] * x[i] (bias may be NULL), then max(y, 0) when relu != 0.
/// The attention MLPs' fully connected layers. Portable.
static inline void dy_matvec_portable(const float *w, const float *bias, const float *x, int rows, int cols,
                                      int relu, float *y) {
    for (int r = 0; r < rows; r++) {
        const float *row = w + (size_t)r * cols;
        float s = bias ? bias[r] : 0.0f;
        for (int i = 0; i < cols; i++) s += row[i] * x[i];
        y[r] = relu && s < 0 ? 0.0f : s;
    }
}

/// The same with the weights stored as IEEE half (fp16 attention weights); products and sums in fp32.
static inline void dy_matvec_f16_portable(const uint16_t *w, const float *bias, const float *x, int rows, int cols,
                                          int relu, float *y) {
    for (int r = 0; r < rows; r++) {
        const uint16_t *row = w + (size_t)r * cols;
        float s = bias ? bias[r] : 0.0f;
        for (int i = 0; i < cols; i++) s += dy_half_to_float(row[i]) * x[i];
        y[r] = relu && s < 0 ? 0.0f : s;
    }
}

/// out[i] = (x[i] - mean) / std for i < count: one channel's run of pixels of `Normalize`. A real division
/// (not a multiplication by 1/std), so the result is the reference's bit for bit.
static inline void dy_normalize_run_portable(const float *x, int count, float mean, float std, float *out) {
    for (int i = 0; i < count; i++) out[i] = (x[i] - mean) / std;
}

/// sums[c] = sum over pixels of x[p * stride + c] for c < channels: one NHWC sample of `pixels` pixels
/// (`stride` = its channel count; `channels` < `stride` sums a slice of the channels).
static inline void dy_channel_sums_nhwc(const float *x, int pixels, int stride, int channels, float *sums) {
    for (int c = 0; c < channels; c++) sums[c] = 0.0f;
    for (int p = 0; p < pixels; p++) {
        const float *row = x + (size_t)p * stride;
        for (int c = 0; c < channels; c++) sums[c] += row[c];
    }
}

#if DY_X86_64
// The AVX2 versions of the loops above (x86-64 only).

/// The gates of the 8 elements of chunk `c` of a gate chunk map (see DY_GATE_CHUNK).
__attribute__((target("avx2")))
static inline __m256 dy_chunk_gate8_avx2(const float *gate, int32_t c) {
    return c >= 0 ? _mm256_set1_ps(gate[c]) : _mm256_loadu_ps(gate + ~c);
}

/// The same with AVX2 + FMA: 8 outputs per step, every expert's 8 values loaded once per step; a gate
/// costs one multiply per 8 outputs.
__attribute__((target("avx2,fma")))
static inline void dy_aggregate_f32_avx2(const float *bank, size_t stride, size_t count, int experts,
                                         const float *pi, const float *gate, const int32_t *chunks, float *out) {
    size_t i = 0;
    for (; i + 8 <= count; i += 8) {
        __m256 acc = _mm256_mul_ps(_mm256_set1_ps(pi[0]), _mm256_loadu_ps(bank + i));
        for (int k = 1; k < experts; k++) {
            acc = _mm256_fmadd_ps(_mm256_set1_ps(pi[k]), _mm256_loadu_ps(bank + (size_t)k * stride + i), acc);
        }
        if (gate) acc = _mm256_mul_ps(acc, dy_chunk_gate8_avx2(gate, chunks[i / DY_GATE_CHUNK]));
        _mm256_storeu_ps(out + i, acc);
    }
    for (; i < count; i++) {
        float s = pi[0] * bank[i];
        for (int k = 1; k < experts; k++) s += pi[k] * bank[(size_t)k * stride + i];
        out[i] = gate ? s * dy_chunk_gate(gate, chunks, i) : s;
    }
}

/// Half-precision experts with F16C conversion in hardware.
__attribute__((target("avx2,fma,f16c")))
static inline void dy_aggregate_f16_avx2(const uint16_t *bank, size_t stride, size_t count, int experts,
                                         const float *pi, const float *gate, const int32_t *chunks, float *out) {
    size_t i = 0;
    for (; i + 8 <= count; i += 8) {
        __m256 acc = _mm256_mul_ps(_mm256_set1_ps(pi[0]), _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(bank + i))));
        for (int k = 1; k < experts; k++) {
            __m256 e = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(bank + (size_t)k * stride + i)));
            acc = _mm256_fmadd_ps(_mm256_set1_ps(pi[k]), e, acc);
        }
        if (gate) acc = _mm256_mul_ps(acc, dy_chunk_gate8_avx2(gate, chunks[i / DY_GATE_CHUNK]));
        _mm256_storeu_ps(out + i, acc);
    }
    for (; i < count; i++) {
        float s = pi[0] * dy_half_to_float(bank[i]);
        for (int k = 1; k < experts; k++) s += pi[k] * dy_half_to_float(bank[(size_t)k * stride + i]);
        out[i] = gate ? s * dy_chunk_gate(gate, chunks, i) : s;
    }
}

/// `dy_scale_by_channel` with AVX2: one gate vector per 8 weights.
__attribute__((target("avx2")))
static inline void dy_scale_by_channel_avx2(const float *weights, const int32_t *chunks, const float *gate, size_t count,
                                            float *out) {
    size_t i = 0;
    for (; i + 8 <= count; i += 8) {
        __m256 g = dy_chunk_gate8_avx2(gate, chunks[i / DY_GATE_CHUNK]);
        _mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_loadu_ps(weights + i), g));
    }
    for (; i < count; i++) out[i] = weights[i] * dy_chunk_gate(gate, chunks, i);
}

/// The sum of the 8 lanes of `v`.
__attribute__((target("avx2")))
static inline float dy_sum8_avx2(__m256 v) {
    __m128 half = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    half = _mm_add_ps(half, _mm_movehl_ps(half, half));
    half = _mm_add_ss(half, _mm_shuffle_ps(half, half, 1));
    return _mm_cvtss_f32(half);
}

/// 8 weights of a row from element i, fp32 or (half != 0) IEEE half converted by F16C.
__attribute__((target("avx2,f16c")))
static inline __m256 dy_load8_avx2(const void *row, int half, int i) {
    return half ? _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const uint16_t *)row + i)))
                : _mm256_loadu_ps((const float *)row + i);
}

/// out[j] = row . x[j] for the M (1 to 4) inputs x[j]: every 8 weights loaded once for all inputs, two
/// accumulators per input. One accumulator would make each fused multiply-add wait for the previous
/// one, and that latency, not the weights, bounded the attention's FC1 (4x slower at batch 8).
/// Always inlined with a constant M, so the accumulators stay in registers.
__attribute__((target("avx2,fma,f16c"), always_inline))
static inline void dy_row_dots_avx2(const void *row, int half, const float *const *x, const int m, int cols, float *out) {
    __m256 a[4], b[4];
    for (int j = 0; j < m; j++) { a[j] = _mm256_setzero_ps(); b[j] = _mm256_setzero_ps(); }
    int i = 0;
    for (; i + 16 <= cols; i += 16) {
        __m256 w0 = dy_load8_avx2(row, half, i), w1 = dy_load8_avx2(row, half, i + 8);
        for (int j = 0; j < m; j++) {
            a[j] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(x[j] + i), a[j]);
            b[j] = _mm256_fmadd_ps(w1, _mm256_loadu_ps(x[j] + i + 8), b[j]);
        }
    }
    if (i + 8 <= cols) {
        __m256 w0 = dy_load8_avx2(row, half, i);
        for (int j = 0; j < m; j++) a[j] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(x[j] + i), a[j]);
        i += 8;
    }
    for (int j = 0; j < m; j++) {
        float s = dy_sum8_avx2(_mm256_add_ps(a[j], b[j]));
        for (int t = i; t < cols; t++) {
            float w = dy_load1(row, half, (size_t)t);
            s += w * x[j][t];
        }
        out[j] = s;
    }
}

/// Rows of `w` (fp32, or fp16 when half != 0) times one input: y[r] = bias[r] + row r . x, ReLU'd when asked.
__attribute__((target("avx2,fma,f16c")))
static inline void dy_matvec_rows_avx2(const void *w, int half, const float *bias, const float *x, int rows, int cols,
                                       int relu, float *y) {
    const size_t element = half ? sizeof(uint16_t) : sizeof(float);
    for (int r = 0; r < rows; r++) {
        float s;
        dy_row_dots_avx2((const char *)w + (size_t)r * cols * element, half, &x, 1, cols, &s);
        s += bias ? bias[r] : 0.0f;
        y[r] = relu && s < 0 ? 0.0f : s;
    }
}

static inline void dy_matvec_avx2(const float *w, const float *bias, const float *x, int rows, int cols,
                                  int relu, float *y) {
    dy_matvec_rows_avx2(w, 0, bias, x, rows, cols, relu, y);
}

static inline void dy_matvec_f16_avx2(const uint16_t *w, const float *bias, const float *x, int rows, int cols,
                                      int relu, float *y) {
    dy_matvec_rows_avx2(w, 1, bias, x, rows, cols, relu, y);
}

/// Two samples' kernels in one pass over the experts: out0 from pi0, out1 from pi1 (each expert block
/// loaded once for both). fp32 or (half != 0) fp16 experts; AVX2 + FMA + F16C.
__attribute__((target("avx2,fma,f16c")))
static inline void dy_aggregate_pair_avx2(const void *bank, int half, size_t stride, size_t count, int experts,
                                          const float *pi0, const float *pi1, float *out0, float *out1) {
    const size_t element = half ? sizeof(uint16_t) : sizeof(float);
    size_t i = 0;
    for (; i + 8 <= count; i += 8) {
        __m256 e = dy_load8_avx2(bank, half, (int)i);
        __m256 a0 = _mm256_mul_ps(_mm256_set1_ps(pi0[0]), e), a1 = _mm256_mul_ps(_mm256_set1_ps(pi1[0]), e);
        for (int k = 1; k < experts; k++) {
            e = dy_load8_avx2((const char *)bank + (size_t)k * stride * element, half, (int)i);
            a0 = _mm256_fmadd_ps(_mm256_set1_ps(pi0[k]), e, a0);
            a1 = _mm256_fmadd_ps(_mm256_set1_ps(pi1[k]), e, a1);
        }
        _mm256_storeu_ps(out0 + i, a0);
        _mm256_storeu_ps(out1 + i, a1);
    }
    for (; i < count; i++) {
        float s0 = 0, s1 = 0;
        for (int k = 0; k < experts; k++) {
            float e = dy_load1(bank, half, (size_t)k * stride + i);
            s0 += pi0[k] * e;
            s1 += pi1[k] * e;
        }
        out0[i] = s0;
        out1[i] = s1;
    }
}

/// FC1 + ReLU rows [r0, r1) for `samples` inputs at once: `y[n * y_stride + r]` from `x + n * x_stride`.
/// Each weight row is read from memory once and stays in L1 while every sample's dot product reads it,
/// where one `dy_fc_rows` call per sample would read the whole matrix once per sample. With AVX2, four
/// samples share each load of the row's weights.
__attribute__((target("avx2,fma,f16c")))
static inline void dy_fc_rows_samples_avx2(const void *weights, int half, const float *bias, const float *x, int x_stride,
                                           int samples, int r0, int r1, int cols, int relu, float *y, int y_stride) {
    const size_t element = half ? sizeof(uint16_t) : sizeof(float);
    for (int r = r0; r < r1; r++) {
        const void *row = (const char *)weights + (size_t)r * cols * element;
        for (int n = 0; n < samples; n += 4) {
            const float *inputs[4];
            float dots[4];
            int m = samples - n < 4 ? samples - n : 4;
            for (int j = 0; j < m; j++) inputs[j] = x + (size_t)(n + j) * x_stride;
            switch (m) { // constant counts, so each call is inlined with its accumulators in registers
            case 4: dy_row_dots_avx2(row, half, inputs, 4, cols, dots); break;
            case 3: dy_row_dots_avx2(row, half, inputs, 3, cols, dots); break;
            case 2: dy_row_dots_avx2(row, half, inputs, 2, cols, dots); break;
            default: dy_row_dots_avx2(row, half, inputs, 1, cols, dots); break;
            }
            for (int j = 0; j < m; j++) {
                float v = dots[j] + (bias ? bias[r] : 0.0f);
                y[(size_t)(n + j) * y_stride + r] = relu && v < 0 ? 0.0f : v;
            }
        }
    }
}

__attribute__((target("avx2")))
static inline void dy_normalize_run_avx2(const float *x, int count, float mean, float std, float *out) {
    const __m256 m = _mm256_set1_ps(mean), d = _mm256_set1_ps(std);
    int i = 0;
    for (; i + 8 <= count; i += 8) _mm256_storeu_ps(out + i, _mm256_div_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i), m), d));
    for (; i < count; i++) out[i] = (x[i] - mean) / std;
}

/// sums[c] += sum over pixels of x[p * stride + c] for c < channels, with 32 channels held in registers
/// across all pixels (each channel still summed in pixel order onto what `sums` holds). DY-ReLU's pooling
/// runs it over tiles of rows.
__attribute__((target("avx2")))
static inline void dy_channel_sums_accumulate_avx2(const float *x, int pixels, int stride, int channels, float *sums) {
    int c = 0;
    for (; c + 32 <= channels; c += 32) {
        __m256 a0 = _mm256_loadu_ps(sums + c), a1 = _mm256_loadu_ps(sums + c + 8);
        __m256 a2 = _mm256_loadu_ps(sums + c + 16), a3 = _mm256_loadu_ps(sums + c + 24);
        const float *column = x + c;
        for (int p = 0; p < pixels; p++, column += stride) {
            a0 = _mm256_add_ps(a0, _mm256_loadu_ps(column));
            a1 = _mm256_add_ps(a1, _mm256_loadu_ps(column + 8));
            a2 = _mm256_add_ps(a2, _mm256_loadu_ps(column + 16));
            a3 = _mm256_add_ps(a3, _mm256_loadu_ps(column + 24));
        }
        _mm256_storeu_ps(sums + c, a0);
        _mm256_storeu_ps(sums + c + 8, a1);
        _mm256_storeu_ps(sums + c + 16, a2);
        _mm256_storeu_ps(sums + c + 24, a3);
    }
    for (; c + 8 <= channels; c += 8) {
        __m256 a = _mm256_loadu_ps(sums + c);
        const float *column = x + c;
        for (int p = 0; p < pixels; p++, column += stride) a = _mm256_add_ps(a, _mm256_loadu_ps(column));
        _mm256_storeu_ps(sums + c, a);
    }
    for (; c < channels; c++) {
        float s = sums[c];
        for (int p = 0; p < pixels; p++) s += x[(size_t)p * stride + c];
        sums[c] = s;
    }
}

/// The same sums from zero (bit-identical to the portable loop and to the reference GAP).
__attribute__((target("avx2")))
static inline void dy_channel_sums_nhwc_avx2(const float *x, int pixels, int stride, int channels, float *sums) {
    for (int c = 0; c < channels; c++) sums[c] = 0.0f;
    dy_channel_sums_accumulate_avx2(x, pixels, stride, channels, sums);
}

#endif // DY_X86_64

// Entry points for the Swift side: the AVX2 kernel when `avx2` != 0 and one was compiled, else the
// portable loop.

/// One sample's kernel from fp32 or (half != 0) fp16 experts, scaled per input channel by `gate` when
/// it is not NULL (`chunks`: the gate chunk map from the slice's first element, see DY_GATE_CHUNK).
static inline void dy_aggregate_gated(const void *bank, int half, size_t stride, size_t count, int experts, const float *pi,
                                      const float *gate, const int32_t *chunks, int avx2, float *out) {
#if DY_X86_64
    if (avx2) {
        if (half) dy_aggregate_f16_avx2((const uint16_t *)bank, stride, count, experts, pi, gate, chunks, out);
        else dy_aggregate_f32_avx2((const float *)bank, stride, count, experts, pi, gate, chunks, out);
        return;
    }
#endif
    if (half) dy_aggregate_f16_portable((const uint16_t *)bank, stride, count, experts, pi, gate, chunks, out);
    else dy_aggregate_f32_portable((const float *)bank, stride, count, experts, pi, gate, chunks, out);
}

/// One sample's kernel from fp32 or (half != 0) fp16 experts.
static inline void dy_aggregate(const void *bank, int half, size_t stride, size_t count, int experts, const float *pi,
                                int avx2, float *out) {
    dy_aggregate_gated(bank, half, stride, count, experts, pi, 0, 0, avx2, out);
}

/// Two samples' kernels: in one pass over the experts with AVX2, else one portable pass each.
static inline void dy_aggregate_pair(const void *bank, int half, size_t stride, size_t count, int experts,
                                     const float *pi0, const float *pi1, int avx2, float *out0, float *out1) {
#if DY_X86_64
    if (avx2) { dy_aggregate_pair_avx2(bank, half, stride, count, experts, pi0, pi1, out0, out1); return; }
#endif
    dy_aggregate(bank, half, stride, count, experts, pi0, 0, out0);
    dy_aggregate(bank, half, stride, count, experts, pi1, 0, out1);
}

static inline void dy_matvec(const float *w, const float *bias, const float *x, int rows, int cols, int relu, int avx2,
                             float *y) {
#if DY_X86_64
    if (avx2) { dy_matvec_avx2(w, bias, x, rows, cols, relu, y); return; }
#endif
    dy_matvec_portable(w, bias, x, rows, cols, relu, y);
}

static inline void dy_matvec_f16(const uint16_t *w, const float *bias, const float *x, int rows, int cols, int relu,
                                 int avx2, float *y) {
#if DY_X86_64
    if (avx2) { dy_matvec_f16_avx2(w, bias, x, rows, cols, relu, y); return; }
#endif
    dy_matvec_f16_portable(w, bias, x, rows, cols, relu, y);
}

static inline void dy_normalize_run(const float *x, int count, float mean, float std, int avx2, float *out) {
#if DY_X86_64
    if (avx2) { dy_normalize_run_avx2(x, count, mean, std, out); return; }
#endif
    dy_normalize_run_portable(x, count, mean, std, out);
}

static inline void dy_channel_sums(const float *x, int pixels, int stride, int channels, int avx2, float *sums) {
#if DY_X86_64
    if (avx2) { dy_channel_sums_nhwc_avx2(x, pixels, stride, channels, sums); return; }
#endif
    dy_channel_sums_nhwc(x, pixels, stride, channels, sums);
}

/// FC1 + ReLU rows [r0, r1) from `weights`, fp32 or (half != 0) fp16.
static inline void dy_fc_rows(const void *weights, int half, const float *bias, const float *x, int r0, int r1,
                              int cols, int relu, int avx2, float *y) {
    if (r0 >= r1) return;
    const float *b = bias ? bias + r0 : 0;
    if (half) dy_matvec_f16((const uint16_t *)weights + (size_t)r0 * cols, b, x, r1 - r0, cols, relu, avx2, y + r0);
    else dy_matvec((const float *)weights + (size_t)r0 * cols, b, x, r1 - r0, cols, relu, avx2, y + r0);
}

/// FC1 + ReLU rows [r0, r1) for `samples` inputs at once: `y[n * y_stride + r]` from `x + n * x_stride`.
/// With AVX2 each weight row is read once for four samples (see `dy_fc_rows_samples_avx2`).
static inline void dy_fc_rows_samples(const void *weights, int half, const float *bias, const float *x, int x_stride,
                                      int samples, int r0, int r1, int cols, int relu, int avx2, float *y, int y_stride) {
#if DY_X86_64
    if (avx2) {
        dy_fc_rows_samples_avx2(weights, half, bias, x, x_stride, samples, r0, r1, cols, relu, y, y_stride);
        return;
    }
#endif
    for (int r = r0; r < r1; r++) {
        for (int n = 0; n < samples; n++) {
            dy_fc_rows(weights, half, bias, x + (size_t)n * x_stride, r, r + 1, cols, relu, 0, y + (size_t)n * y_stride);
        }
    }
}

/// One aggregation split across OpenMP's threads (the pool oneDNN already uses, so no second set of
/// threads competes with it). libgomp's entry points are looked up at run time by the Swift side
/// (it is a dependency of libdnnl, not linked directly) and passed in.
typedef struct {
    const void *bank;
    size_t stride;
    int experts;
    const float *pi;
    float *out;
    const float *gate;      // NULL, or the squeeze-excitation gate folded in (`dy_aggregate_gated`)
    const int32_t *chunks;  // the gate chunk map of the whole kernel when `gate` is set
    int half;
    int avx2;
    int (*thread_number)(void);
    int (*thread_count)(void);
} dy_aggregation_job;

static void dy_aggregation_job_run(void *argument) {
    const dy_aggregation_job *job = (const dy_aggregation_job *)argument;
    size_t threads = (size_t)job->thread_count();
    size_t me = (size_t)job->thread_number();
    // Slices of whole 64-element (256-byte) blocks, so every slice starts cache-line and vector aligned.
    size_t blocks = (job->stride + 63) / 64;
    size_t start = (blocks * me / threads) * 64;
    size_t end = (blocks * (me + 1) / threads) * 64;
    if (end > job->stride) end = job->stride;
    if (start >= end) return;
    const size_t element = job->half ? sizeof(uint16_t) : sizeof(float);
    dy_aggregate_gated((const char *)job->bank + start * element, job->half, job->stride, end - start, job->experts,
                       job->pi, job->gate, job->chunks ? job->chunks + start / DY_GATE_CHUNK : 0, job->avx2,
                       job->out + start);
}

/// Runs `job` on `threads` OpenMP threads through libgomp's `GOMP_parallel` (what `#pragma omp parallel`
/// compiles to), or on the calling thread when `parallel` is NULL.
static inline void dy_aggregate_parallel(dy_aggregation_job *job, unsigned threads,
                                         void (*parallel)(void (*)(void *), void *, unsigned, unsigned)) {
    if (parallel) { // threads 0: OpenMP's default count
        parallel(dy_aggregation_job_run, job, threads, 0);
    } else {
        dy_aggregate_gated(job->bank, job->half, job->stride, job->stride, job->experts, job->pi, job->gate, job->chunks,
                           job->avx2, job->out);
    }
}

/// out[i] = weights[i] * gate[channel of i]: a convolution's weights scaled per input channel by a
/// squeeze-excitation gate (`chunks`: the weights' gate chunk map, see DY_GATE_CHUNK).
static inline void dy_scale_by_channel(const float *weights, const int32_t *chunks, const float *gate, size_t count,
                                       int avx2, float *out) {
#if DY_X86_64
    if (avx2) { dy_scale_by_channel_avx2(weights, chunks, gate, count, out); return; }
#endif
    for (size_t i = 0; i < count; i++) out[i] = weights[i] * dy_chunk_gate(gate, chunks, i);
}

/// sums[c] += x[p * channels + c] over pixels p < pixels of an NHWC run, read once in order: with AVX2 in
/// tiles of 16 pixels (a tile stays in L1 while each block of 32 channels sweeps it with its sums in
/// registers), so a split by pixels reads memory as one stream however many channels there are.
static inline void dy_channel_sums_tiled(const float *x, int pixels, int channels, int avx2, float *sums) {
#if DY_X86_64
    if (avx2) {
        for (int p0 = 0; p0 < pixels; p0 += 16) {
            int count = pixels - p0 < 16 ? pixels - p0 : 16;
            dy_channel_sums_accumulate_avx2(x + (size_t)p0 * channels, count, channels, channels, sums);
        }
        return;
    }
#endif
    for (int p = 0; p < pixels; p++) {
        const float *row = x + (size_t)p * channels;
        for (int c = 0; c < channels; c++) sums[c] += row[c];
    }
}

/// A dynamic convolution's attention front end split across OpenMP's threads: channel means of one
/// NHWC sample, then FC1 + ReLU (each thread a slice of rows); with `hidden` 0 the channel means alone
/// (global average pooling, a routing's pooling). The means: each of the first
/// `partial_slots` threads sums a contiguous slice of the pixels into its own `partials` row (so the
/// threads split the work evenly whatever the channel count, and each reads one stream), a barrier, then
/// each thread adds up a slice of the channels over the slots in slot order, a barrier. Each channel's
/// sum is thus summed in pixel order within a slice, slices in order: the reference GAP's value up to
/// float rounding.
typedef struct {
    const float *x;
    int pixels;
    int channels;
    float *means;
    float *partials;     // partial_slots rows of `channels` floats
    int partial_slots;
    const void *fc1;     // fp32, or fp16 when fc1_half != 0
    int fc1_half;
    const float *fc1_bias;
    int hidden;
    float *h;
    int avx2;
    int (*thread_number)(void);
    int (*thread_count)(void);
    void (*barrier)(void);
} dy_attention_job;

static void dy_attention_job_run(void *argument) {
    const dy_attention_job *job = (const dy_attention_job *)argument;
    int threads = job->thread_count(), me = job->thread_number();
    int slots = threads < job->partial_slots ? threads : job->partial_slots;
    int channels = job->channels;
    if (me < slots) {
        int p0 = (int)((long)job->pixels * me / slots), p1 = (int)((long)job->pixels * (me + 1) / slots);
        float *mine = job->partials + (size_t)me * channels;
        for (int c = 0; c < channels; c++) mine[c] = 0.0f;
        dy_channel_sums_tiled(job->x + (size_t)p0 * channels, p1 - p0, channels, job->avx2, mine);
    }
    job->barrier();
    float scale = (float)job->pixels;
    for (int c = channels * me / threads; c < channels * (me + 1) / threads; c++) {
        float s = 0.0f;
        for (int w = 0; w < slots; w++) s += job->partials[(size_t)w * channels + c];
        job->means[c] = s / scale;
    }
    if (job->hidden == 0) return;
    job->barrier();
    int r0 = job->hidden * me / threads, r1 = job->hidden * (me + 1) / threads;
    dy_fc_rows(job->fc1, job->fc1_half, job->fc1_bias, job->means, r0, r1, channels, 1, job->avx2, job->h);
}

/// Runs the attention job on `threads` OpenMP threads (0: OpenMP's default) through `GOMP_parallel`.
static inline void dy_attention_parallel(dy_attention_job *job, unsigned threads,
                                         void (*parallel)(void (*)(void *), void *, unsigned, unsigned)) {
    parallel(dy_attention_job_run, job, threads, 0);
}

// DY-ReLU's passes (uses dy_sum8_avx2 above; x86-64 only until dyrelu.h guards its AVX2 code too).
#include "dyrelu.h"

#endif
