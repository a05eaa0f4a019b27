/* Smooth PME's B-spline stencils in C: spreading multipoles onto the grid and projecting a grid back
 * onto the atoms (pinnff.physics.pme; the Python side is pinnff.physics.native.pme).
 *
 * Atom a's weight at grid point ((b0 - t0) mod K0, (b1 - t1) mod K1, (b2 - t2) mod K2), t = 0..p-1,
 * for derivative row c (orders (dx, dy, dz) = PME_ORDERS[c]: charge, the three first and the six
 * second derivatives, pinnff.physics.native.pme.DERIVATIVES) is the stencil
 *     S_c(t0, t1, t2) = theta[a][0][dx][t0] theta[a][1][dy][t1] theta[a][2][dz][t2],
 * theta (n, 3 axes, 3 derivative orders, p) the B-spline weights and derivatives of the atoms'
 * fractional offsets. Rows c_lo..c_hi-1 take part; coefficients are (n, c_hi - c_lo).
 *
 * spread:  grid[g] += sum_c coef[a][c] S_c(t)                         (per-thread grids, summed)
 * project: proj[a][c] = sum_t G[g(t)] S_c(t)                          (G: a grid, per atom)
 *          and, with coef, the gradient of sum_c coef[a][c] proj[a][c] by theta[a] (n, 3, 3, p).
 * spread's gradient by coef is project's proj of the incoming grid gradient, by theta project's
 * theta gradient; the projection's gradient by the grid is a spread of its incoming gradient, by theta
 * again project's. Sums in double precision; orders up to PME_MAX_ORDER.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#define PME_THREAD_ID(t, nt) do { t = omp_get_thread_num(); nt = omp_get_num_threads(); } while (0)
#else
#define PME_THREAD_ID(t, nt) do { t = 0; nt = 1; } while (0)
#endif

#define PME_MAX_ORDER 8

static const int PME_ORDERS[10][3] = {{0, 0, 0}, {1, 0, 0}, {0, 1, 0}, {0, 0, 1}, {2, 0, 0},
                                      {0, 2, 0}, {0, 0, 2}, {1, 1, 0}, {1, 0, 1}, {0, 1, 1}};

static inline int64_t pme_wrap(int64_t x, int64_t k) {
    int64_t m = x % k;
    return m < 0 ? m + k : m;
}

/* Grid indices along each axis of an atom's stencil points t = 0..order-1: (base - t) mod K. */
static inline void pme_indices(const int64_t *base, int order, int64_t k0, int64_t k1, int64_t k2,
                               int64_t *i0, int64_t *i1, int64_t *i2) {
    for (int s = 0; s < order; ++s) {
        i0[s] = pme_wrap(base[0] - s, k0);
        i1[s] = pme_wrap(base[1] - s, k1);
        i2[s] = pme_wrap(base[2] - s, k2);
    }
}

#define DEFINE_PME(REAL, SUFFIX)                                                             \
int pme_spread_##SUFFIX(int64_t n, int order, const int64_t *base, const REAL *theta,       \
                        const REAL *coef, int c_lo, int c_hi, int64_t k0, int64_t k1,        \
                        int64_t k2, REAL *grid, int threads) {                               \
    if (order < 1 || order > PME_MAX_ORDER || c_lo < 0 || c_hi > 10 || c_lo >= c_hi) return 2; \
    if (threads < 1) threads = 1;                                                            \
    int64_t size = k0 * k1 * k2;                                                             \
    int nc = c_hi - c_lo;                                                                    \
    double *acc = (double *)calloc((size_t)threads * (size_t)size, sizeof(double));          \
    if (!acc) return 1;                                                                      \
    _Pragma("omp parallel num_threads(threads)")                                             \
    {                                                                                        \
        int t = 0, nt = 1;                                                                   \
        PME_THREAD_ID(t, nt);                                                                \
        double *g = acc + (int64_t)t * size;                                                 \
        int64_t lo = n * t / nt, hi = n * (t + 1) / nt;                                      \
        for (int64_t a = lo; a < hi; ++a) {                                                  \
            const REAL *th = theta + a * 9 * order, *ca = coef + a * nc;                     \
            int64_t i0[PME_MAX_ORDER], i1[PME_MAX_ORDER], i2[PME_MAX_ORDER];                 \
            pme_indices(base + 3 * a, order, k0, k1, k2, i0, i1, i2);                        \
            /* P[dz][s0][s1] = sum over rows c of z-order dz of coef_c x_c[s0] y_c[s1]: then the stencil \
             * sum is sum_dz P[dz] z_dz[s2], order^2 (rows + 3 order) products instead of rows order^3 */ \
            double P[3][PME_MAX_ORDER * PME_MAX_ORDER];                                      \
            int used[3] = {0, 0, 0};                                                         \
            for (int c = 0; c < nc; ++c) {                                                   \
                const int *o = PME_ORDERS[c_lo + c];                                         \
                const REAL *tx = th + o[0] * order, *ty = th + (3 + o[1]) * order;           \
                double *Pz = P[o[2]];                                                        \
                if (!used[o[2]]) { for (int q = 0; q < order * order; ++q) Pz[q] = 0.0; used[o[2]] = 1; } \
                for (int s0 = 0; s0 < order; ++s0) {                                         \
                    double x = ca[c] * tx[s0];                                               \
                    for (int s1 = 0; s1 < order; ++s1) Pz[s0 * order + s1] += x * ty[s1];   \
                }                                                                            \
            }                                                                                \
            for (int s0 = 0; s0 < order; ++s0)                                               \
                for (int s1 = 0; s1 < order; ++s1) {                                         \
                    double *row = g + (i0[s0] * k1 + i1[s1]) * k2;                           \
                    for (int s2 = 0; s2 < order; ++s2) {                                     \
                        double w = 0.0;                                                      \
                        for (int dz = 0; dz < 3; ++dz)                                       \
                            if (used[dz]) w += P[dz][s0 * order + s1] * th[(6 + dz) * order + s2]; \
                        row[i2[s2]] += w;                                                    \
                    }                                                                        \
                }                                                                            \
        }                                                                                    \
    }                                                                                        \
    for (int64_t q = 0; q < size; ++q) {                                                     \
        double s = 0.0;                                                                      \
        for (int t = 0; t < threads; ++t) s += acc[(int64_t)t * size + q];                   \
        grid[q] = (REAL)s;                                                                   \
    }                                                                                        \
    free(acc);                                                                               \
    return 0;                                                                                \
}                                                                                            \
                                                                                             \
int pme_project_##SUFFIX(int64_t n, int order, const int64_t *base, const REAL *theta,      \
                         const REAL *coef, int c_lo, int c_hi, int64_t k0, int64_t k1,       \
                         int64_t k2, const REAL *G, REAL *proj, REAL *grad_theta, int threads) { \
    if (order < 1 || order > PME_MAX_ORDER || c_lo < 0 || c_hi > 10 || c_lo >= c_hi) return 2; \
    if (threads < 1) threads = 1;                                                            \
    int nc = c_hi - c_lo, p = order;                                                         \
    _Pragma("omp parallel for num_threads(threads) schedule(static)")                        \
    for (int64_t a = 0; a < n; ++a) {                                                        \
        const REAL *th = theta + a * 9 * p;                                                  \
        double local[PME_MAX_ORDER * PME_MAX_ORDER * PME_MAX_ORDER];                         \
        int64_t i0[PME_MAX_ORDER], i1[PME_MAX_ORDER], i2[PME_MAX_ORDER];                     \
        pme_indices(base + 3 * a, p, k0, k1, k2, i0, i1, i2);                                \
        for (int s0 = 0; s0 < p; ++s0)                                                       \
            for (int s1 = 0; s1 < p; ++s1) {                                                 \
                const REAL *row = G + (i0[s0] * k1 + i1[s1]) * k2;                           \
                for (int s2 = 0; s2 < p; ++s2) local[(s0 * p + s1) * p + s2] = row[i2[s2]];  \
            }                                                                                \
        /* the grid contracted along axis 2 with each derivative order: A[dz][s0][s1] */     \
        double A[3][PME_MAX_ORDER * PME_MAX_ORDER];                                          \
        for (int dz = 0; dz < 3; ++dz) {                                                     \
            const REAL *tz = th + (6 + dz) * p;                                              \
            for (int q = 0; q < p * p; ++q) {                                                \
                double s = 0.0;                                                              \
                for (int s2 = 0; s2 < p; ++s2) s += local[q * p + s2] * tz[s2];              \
                A[dz][q] = s;                                                                \
            }                                                                                \
        }                                                                                    \
        double gth[9 * PME_MAX_ORDER], W[3][PME_MAX_ORDER * PME_MAX_ORDER];                  \
        int wused[3] = {0, 0, 0};                                                            \
        if (grad_theta) for (int q = 0; q < 9 * p; ++q) gth[q] = 0.0;                        \
        for (int c = 0; c < nc; ++c) {                                                       \
            int dx = PME_ORDERS[c_lo + c][0], dy = PME_ORDERS[c_lo + c][1], dz = PME_ORDERS[c_lo + c][2]; \
            const REAL *tx = th + dx * p, *ty = th + (3 + dy) * p, *tz = th + (6 + dz) * p;  \
            double sx[PME_MAX_ORDER], sy[PME_MAX_ORDER], value = 0.0;                        \
            for (int s0 = 0; s0 < p; ++s0) {                                                 \
                double s = 0.0;                                                              \
                for (int s1 = 0; s1 < p; ++s1) s += A[dz][s0 * p + s1] * ty[s1];             \
                sx[s0] = s;                                                                  \
                value += s * tx[s0];                                                         \
            }                                                                                \
            if (proj) proj[a * nc + c] = (REAL)value;                                        \
            if (!grad_theta || !coef) continue;                                              \
            double w = coef[a * nc + c];                                                     \
            if (w == 0.0) continue;                                                          \
            for (int s1 = 0; s1 < p; ++s1) {                                                 \
                double s = 0.0;                                                              \
                for (int s0 = 0; s0 < p; ++s0) s += A[dz][s0 * p + s1] * tx[s0];             \
                sy[s1] = s;                                                                  \
            }                                                                                \
            for (int s = 0; s < p; ++s) {                                                    \
                gth[dx * p + s] += w * sx[s];                                                \
                gth[(3 + dy) * p + s] += w * sy[s];                                          \
            }                                                                                \
            /* the z-axis share, summed over the rows of each z order first: W[dz] = sum w_c x_c y_c */ \
            double *Wz = W[dz];                                                              \
            if (!wused[dz]) { for (int q = 0; q < p * p; ++q) Wz[q] = 0.0; wused[dz] = 1; }  \
            for (int s0 = 0; s0 < p; ++s0) {                                                 \
                double x = w * tx[s0];                                                       \
                for (int s1 = 0; s1 < p; ++s1) Wz[s0 * p + s1] += x * ty[s1];               \
            }                                                                                \
        }                                                                                    \
        for (int dz = 0; dz < 3; ++dz) {                                                     \
            if (!wused[dz]) continue;                                                        \
            for (int s2 = 0; s2 < p; ++s2) {                                                 \
                double s = 0.0;                                                              \
                for (int q = 0; q < p * p; ++q) s += local[q * p + s2] * W[dz][q];           \
                gth[(6 + dz) * p + s2] += s;                                                 \
            }                                                                                \
        }                                                                                    \
        if (grad_theta) for (int q = 0; q < 9 * p; ++q) grad_theta[a * 9 * p + q] = (REAL)gth[q]; \
    }                                                                                        \
    return 0;                                                                                \
}

DEFINE_PME(float, f32)
DEFINE_PME(double, f64)
