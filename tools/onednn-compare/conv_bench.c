// Times a network's convolutions the way dyserve's fast engine runs them, against whichever oneDNN it
// is compiled with: the 2.x C API (Debian 12's libdnnl-dev 2.6.3, op descriptors) or the 3.x one (the
// PyPI wheels' 3.2, primitive descriptors created directly, opaque memory descriptors), chosen by
// DNNL_VERSION_MAJOR. Build and run both with run.sh, which interleaves them.
//
// What it mirrors from Sources/DyNN/Fast (ConvPrimitive, PrimitiveBinding, StaticConvLayer): f32,
// forward inference, direct algorithm, NHWC source and destination, weights in the layout the
// implementation asks for (format_tag any, reordered once from oihw / goihw), bias, the ReLU6 post-op
// as eltwise clip(0, 6), a user-managed scratchpad, one CPU stream; every execution sets the memory
// objects' data handles, executes and waits on the stream. Threads: OpenMP's (OMP_NUM_THREADS).
//
// Usage: [CONV_BENCH_SKIP=TEXT] conv_bench LAYERS ROUNDS WARMUP
//   LAYERS: lines "name in_channels height width out_channels kernel stride padding groups bias post_op"
//           (layers.py prints them from a model.json); each layer reads the previous one's output.
//   One round runs every layer once in order (one pass of the network's convolutions), each timed.
//   CONV_BENCH_SKIP: take oneDNN's first implementation whose name does not contain TEXT (e.g. "br", which
//   skips 3.x's brgconv and brdgmm kernels, to time its older ones); unset, its first choice, as the engine.
// Output, one record per line:
//   version MAJOR.MINOR.PATCH isa ISA threads T
//   layer NAME IMPLEMENTATION MEDIAN_NS CHECKSUM   (CHECKSUM: sum of the layer's output, from an untimed pass)
//   chain MEDIAN_NS MIN_NS P90_NS                  (the whole pass)
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <oneapi/dnnl/dnnl.h>

#if DNNL_VERSION_MAJOR >= 3
typedef const_dnnl_memory_desc_t md_t;
#else
typedef const dnnl_memory_desc_t *md_t;
#endif

#define CHECK(call)                                                                                     \
    do {                                                                                                \
        dnnl_status_t status_ = (call);                                                                 \
        if (status_ != dnnl_success) {                                                                  \
            fprintf(stderr, "conv_bench: %s failed with status %d (line %d)\n", #call, (int)status_,    \
                    __LINE__);                                                                          \
            exit(1);                                                                                    \
        }                                                                                               \
    } while (0)

typedef struct {
    char name[128];
    int ic, h, w, oc, k, stride, pad, groups, bias, relu6;
    int oh, ow;
    dnnl_primitive_desc_t pd;
    dnnl_primitive_t primitive;
    dnnl_memory_t src, weights, bias_memory, dst, scratchpad;
    float *packed_weights, *bias_data;
    const char *impl;
    double *times;
} Layer;

static void *aligned(size_t bytes) {
    void *p = NULL;
    if (posix_memalign(&p, 64, bytes ? bytes : 64) != 0) {
        fprintf(stderr, "conv_bench: out of memory (%zu bytes)\n", bytes);
        exit(1);
    }
    return p;
}

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

// Deterministic values in [-1, 1) (SplitMix64), so both builds see the same data.
static unsigned long long rng_state = 2018;
static float uniform(void) {
    unsigned long long z = (rng_state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    return (float)((double)(z >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

// A plain f32 memory descriptor; the 2.x one lives on the heap so both APIs can pass it around as md_t.
static md_t make_md(int ndims, const dnnl_dims_t dims, dnnl_format_tag_t tag) {
#if DNNL_VERSION_MAJOR >= 3
    dnnl_memory_desc_t md;
    CHECK(dnnl_memory_desc_create_with_tag(&md, ndims, dims, dnnl_f32, tag));
    return md;
#else
    dnnl_memory_desc_t *md = malloc(sizeof *md);
    CHECK(dnnl_memory_desc_init_by_tag(md, ndims, dims, dnnl_f32, tag));
    return md;
#endif
}

static dnnl_primitive_attr_t make_attributes(int relu6) {
    dnnl_primitive_attr_t attr;
    CHECK(dnnl_primitive_attr_create(&attr));
    CHECK(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user));
    if (relu6) {
        dnnl_post_ops_t ops;
        CHECK(dnnl_post_ops_create(&ops));
#if DNNL_VERSION_MAJOR >= 3
        CHECK(dnnl_post_ops_append_eltwise(ops, dnnl_eltwise_clip, 0.f, 6.f));
#else
        CHECK(dnnl_post_ops_append_eltwise(ops, 1.f, dnnl_eltwise_clip, 0.f, 6.f));
#endif
        CHECK(dnnl_primitive_attr_set_post_ops(attr, ops));
        CHECK(dnnl_post_ops_destroy(ops));
    }
    return attr;
}

// Whether oneDNN's implementation name contains `skip` (CONV_BENCH_SKIP), so the next one is tried.
static int skipped(dnnl_primitive_desc_t pd, const char *skip) {
    const char *impl = NULL;
    CHECK(dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl));
    return skip && *skip && strstr(impl, skip) != NULL;
}

// oneDNN's first choice of implementation, or with `skip` the first whose name does not contain it.
static dnnl_primitive_desc_t make_convolution(dnnl_engine_t engine, const Layer *l, md_t src, md_t weights,
                                              md_t bias, md_t dst, dnnl_primitive_attr_t attr, const char *skip) {
    // dnnl_dims_t (the API's parameter type), of which the first two entries are used.
    dnnl_dims_t strides = {l->stride, l->stride}, dilates = {0, 0};
    dnnl_dims_t pad_low = {l->pad, l->pad}, pad_high = {l->pad, l->pad};
    dnnl_primitive_desc_t pd;
    dnnl_status_t next = dnnl_success;
#if DNNL_VERSION_MAJOR >= 3
    CHECK(dnnl_convolution_forward_primitive_desc_create(&pd, engine, dnnl_forward_inference, dnnl_convolution_direct,
                                                         src, weights, l->bias ? bias : NULL, dst, strides, dilates,
                                                         pad_low, pad_high, attr));
    while (next == dnnl_success && skipped(pd, skip)) next = dnnl_primitive_desc_next_impl(pd);
#else
    dnnl_convolution_desc_t desc;
    CHECK(dnnl_dilated_convolution_forward_desc_init(&desc, dnnl_forward_inference, dnnl_convolution_direct, src,
                                                     weights, l->bias ? bias : NULL, dst, strides, dilates, pad_low,
                                                     pad_high));
    dnnl_primitive_desc_iterator_t it;
    CHECK(dnnl_primitive_desc_iterator_create(&it, &desc, attr, engine, NULL));
    pd = dnnl_primitive_desc_iterator_fetch(it);
    while (next == dnnl_success && skipped(pd, skip)) {
        next = dnnl_primitive_desc_iterator_next(it);
        if (next == dnnl_success) {
            CHECK(dnnl_primitive_desc_destroy(pd));
            pd = dnnl_primitive_desc_iterator_fetch(it);
        }
    }
    CHECK(dnnl_primitive_desc_iterator_destroy(it));
#endif
    if (next != dnnl_success) {
        fprintf(stderr, "conv_bench: %s: every implementation's name contains \"%s\"\n", l->name, skip);
        exit(1);
    }
    return pd;
}

// Copies `data` laid out as `from` into `into`'s buffer, once (the engine's load-time weight reorder).
static void reorder(dnnl_engine_t engine, dnnl_stream_t stream, md_t from, void *data, md_t to, void *target) {
    dnnl_primitive_desc_t pd;
    CHECK(dnnl_reorder_primitive_desc_create(&pd, from, engine, to, engine, NULL));
    dnnl_primitive_t primitive;
    CHECK(dnnl_primitive_create(&primitive, pd));
    dnnl_memory_t a, b;
    CHECK(dnnl_memory_create(&a, from, engine, data));
    CHECK(dnnl_memory_create(&b, to, engine, target));
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, a}, {DNNL_ARG_TO, b}};
    CHECK(dnnl_primitive_execute(primitive, stream, 2, args));
    CHECK(dnnl_stream_wait(stream));
    dnnl_memory_destroy(a);
    dnnl_memory_destroy(b);
    dnnl_primitive_destroy(primitive);
    dnnl_primitive_desc_destroy(pd);
}

static void prepare(Layer *l, dnnl_engine_t engine, dnnl_stream_t stream, const char *skip, size_t *scratch_bytes) {
    int g = l->groups;
    dnnl_dims_t src_dims = {1, l->ic, l->h, l->w}, dst_dims = {1, l->oc, l->oh, l->ow}, bias_dims = {l->oc};
    dnnl_dims_t grouped = {g, l->oc / g, l->ic / g, l->k, l->k}, plain = {l->oc, l->ic, l->k, l->k};
    int wnd = g > 1 ? 5 : 4;
    const dnnl_dim_t *wdims = g > 1 ? grouped : plain;

    md_t src = make_md(4, src_dims, dnnl_nhwc), dst = make_md(4, dst_dims, dnnl_nhwc);
    md_t bias = make_md(1, bias_dims, dnnl_a);
    md_t any_weights = make_md(wnd, wdims, dnnl_format_tag_any);
    md_t plain_weights = make_md(wnd, wdims, g > 1 ? dnnl_goihw : dnnl_oihw);
    dnnl_primitive_attr_t attr = make_attributes(l->relu6);
    l->pd = make_convolution(engine, l, src, any_weights, bias, dst, attr, skip);
    CHECK(dnnl_primitive_attr_destroy(attr));
    CHECK(dnnl_primitive_create(&l->primitive, l->pd));
    CHECK(dnnl_primitive_desc_query(l->pd, dnnl_query_impl_info_str, 0, &l->impl));

    md_t weights = dnnl_primitive_desc_query_md(l->pd, dnnl_query_weights_md, 0);
    md_t scratch = dnnl_primitive_desc_query_md(l->pd, dnnl_query_scratchpad_md, 0);
    size_t sb = dnnl_memory_desc_get_size(scratch);
    if (sb > *scratch_bytes) *scratch_bytes = sb;

    // Weights scaled so activations keep their magnitude through the chain.
    size_t count = (size_t)l->oc * (l->ic / g) * l->k * l->k;
    float scale = sqrtf(3.f / (float)((l->ic / g) * l->k * l->k));
    float *w = malloc(count * sizeof *w);
    for (size_t i = 0; i < count; i++) w[i] = uniform() * scale;
    l->packed_weights = aligned(dnnl_memory_desc_get_size(weights));
    reorder(engine, stream, plain_weights, w, weights, l->packed_weights);
    free(w);
    l->bias_data = aligned((size_t)l->oc * sizeof(float));
    for (int i = 0; i < l->oc; i++) l->bias_data[i] = 0.1f * uniform();

    // Memory objects without data, pointed at the buffers on every execution, as PrimitiveBinding does.
    CHECK(dnnl_memory_create(&l->src, src, engine, NULL));
    CHECK(dnnl_memory_create(&l->dst, dst, engine, NULL));
    CHECK(dnnl_memory_create(&l->weights, weights, engine, NULL));
    CHECK(dnnl_memory_create(&l->bias_memory, bias, engine, NULL));
    CHECK(dnnl_memory_create(&l->scratchpad, scratch, engine, NULL));
}

static void execute(Layer *l, dnnl_stream_t stream, float *src, float *dst, void *scratchpad) {
    dnnl_memory_set_data_handle(l->src, src);
    dnnl_memory_set_data_handle(l->weights, l->packed_weights);
    dnnl_memory_set_data_handle(l->dst, dst);
    dnnl_memory_set_data_handle(l->scratchpad, scratchpad);
    dnnl_memory_set_data_handle(l->bias_memory, l->bias_data);
    dnnl_exec_arg_t args[5] = {{DNNL_ARG_SRC, l->src}, {DNNL_ARG_WEIGHTS, l->weights}, {DNNL_ARG_DST, l->dst},
                               {DNNL_ARG_SCRATCHPAD, l->scratchpad}, {DNNL_ARG_BIAS, l->bias_memory}};
    CHECK(dnnl_primitive_execute(l->primitive, stream, l->bias ? 5 : 4, args));
    CHECK(dnnl_stream_wait(stream));
}

static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n) {
    qsort(v, n, sizeof *v, compare_doubles);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static const char *isa_name(dnnl_cpu_isa_t isa) {
    switch (isa) {
    case dnnl_cpu_isa_avx2: return "avx2";
    case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
    case dnnl_cpu_isa_avx512_core: return "avx512_core";
    case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
    default: return "other";
    }
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s LAYERS ROUNDS WARMUP\n", argv[0]);
        return 2;
    }
    int rounds = atoi(argv[2]), warmup = atoi(argv[3]);
    FILE *f = fopen(argv[1], "r");
    if (!f || rounds < 1 || warmup < 0) {
        fprintf(stderr, "conv_bench: cannot read %s or bad ROUNDS/WARMUP\n", argv[1]);
        return 2;
    }
    Layer layers[256];
    int n = 0, line_number = 0;
    char line[512], post[32];
    while (fgets(line, sizeof line, f)) {
        line_number++;
        if (strspn(line, " \t\r\n") == strlen(line)) continue;
        Layer *l = &layers[n];
        if (n == 256 || sscanf(line, "%127s %d %d %d %d %d %d %d %d %d %31s", l->name, &l->ic, &l->h, &l->w, &l->oc, &l->k,
                               &l->stride, &l->pad, &l->groups, &l->bias, post) != 11) {
            fprintf(stderr, "conv_bench: %s line %d: malformed, or more than 256 layers\n", argv[1], line_number);
            return 2;
        }
        if (strcmp(post, "relu6") != 0 && strcmp(post, "none") != 0) {
            fprintf(stderr, "conv_bench: %s: post-op %s not supported (relu6 or none)\n", l->name, post);
            return 2;
        }
        l->relu6 = strcmp(post, "relu6") == 0;
        l->oh = (l->h + 2 * l->pad - l->k) / l->stride + 1;
        l->ow = (l->w + 2 * l->pad - l->k) / l->stride + 1;
        if (n > 0 && (l->ic != layers[n - 1].oc || l->h != layers[n - 1].oh || l->w != layers[n - 1].ow)) {
            fprintf(stderr, "conv_bench: %s does not read %s's output shape\n", l->name, layers[n - 1].name);
            return 2;
        }
        n++;
    }
    fclose(f);
    if (n == 0) {
        fprintf(stderr, "conv_bench: no layers in %s\n", argv[1]);
        return 2;
    }

    dnnl_engine_t engine;
    dnnl_stream_t stream;
    CHECK(dnnl_engine_create(&engine, dnnl_cpu, 0));
    CHECK(dnnl_stream_create(&stream, engine, dnnl_stream_default_flags));
    size_t scratch_bytes = 0, floats = 0;
    for (int i = 0; i < n; i++) {
        prepare(&layers[i], engine, stream, getenv("CONV_BENCH_SKIP"), &scratch_bytes);
        size_t in = (size_t)layers[i].ic * layers[i].h * layers[i].w, out = (size_t)layers[i].oc * layers[i].oh * layers[i].ow;
        if (in > floats) floats = in;
        if (out > floats) floats = out;
        layers[i].times = malloc((size_t)rounds * sizeof(double));
    }
    // Two activation buffers used in turn, as the engine's liveness-assigned buffers are.
    float *a = aligned(floats * sizeof(float)), *b = aligned(floats * sizeof(float));
    void *scratchpad = aligned(scratch_bytes);
    double *chain = malloc((size_t)rounds * sizeof(double));

    double *sums = malloc((size_t)n * sizeof(double));
    // The timed rounds, then one untimed pass (r == rounds) that sums every layer's output.
    for (int r = -warmup; r <= rounds; r++) {
        // A fresh network input every round (uniform [0, 1) from the same seed), like the engine's input.
        rng_state = 7;
        for (size_t i = 0; i < (size_t)layers[0].ic * layers[0].h * layers[0].w; i++) a[i] = 0.5f * uniform() + 0.5f;
        if (r == rounds) {
            for (int i = 0; i < n; i++) {
                Layer *l = &layers[i];
                float *out = i % 2 ? a : b;
                execute(l, stream, i % 2 ? b : a, out, scratchpad);
                sums[i] = 0;
                for (size_t j = 0; j < (size_t)l->oc * l->oh * l->ow; j++) sums[i] += out[j];
            }
            break;
        }
        double start = now_ns(), t = start;
        for (int i = 0; i < n; i++) {
            execute(&layers[i], stream, i % 2 ? b : a, i % 2 ? a : b, scratchpad);
            double t1 = now_ns();
            if (r >= 0) layers[i].times[r] = t1 - t;
            t = t1;
        }
        if (r >= 0) chain[r] = t - start;
    }

    const dnnl_version_t *v = dnnl_version();
    const char *threads = getenv("OMP_NUM_THREADS");
    printf("version %d.%d.%d isa %s threads %s\n", v->major, v->minor, v->patch, isa_name(dnnl_get_effective_cpu_isa()),
           threads ? threads : "default");
    for (int i = 0; i < n; i++) {
        printf("layer %s %s %.0f %.9g\n", layers[i].name, layers[i].impl, median(layers[i].times, rounds), sums[i]);
    }
    double med = median(chain, rounds); // sorts `chain`
    printf("chain %.0f %.0f %.0f\n", med, chain[0], chain[(int)ceil(0.9 * rounds) - 1]);
    return 0;
}
