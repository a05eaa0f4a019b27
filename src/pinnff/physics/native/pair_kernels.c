/* Fused pair kernels of pinnff's physics engine: gather, arithmetic and scatter in one loop.
 *
 * Torch runs a pair term as dozens of element-wise operators over (k,) rows, each reading and
 * writing k numbers, plus gathers of per-atom rows onto pairs and scatters back; on a CPU that
 * is memory traffic and operator dispatch, not arithmetic. Here each pair is visited once: its
 * atoms' data are read from small per-atom arrays (cache resident) and its contributions added
 * to per-thread per-atom accumulators (double precision), which are summed at the end. The
 * Python side (pinnff.physics.native) wraps each kernel in a torch.autograd.Function whose
 * backward is the hand-written gradient below.
 *
 * Layouts: pair index arrays i, j (k,) int64; pair vectors rv as rows (3, k) = x_j - x_i (A);
 * per-pair radial factors (k,); per-atom vectors (n, 3) row-major. REAL is float or double.
 *
 * Dipole field (polarization, pinnff.physics.polarization): for every pair with radial factors
 * f3, f5 (damping and scaling included), the field of dipole m_j at i and of m_i at j,
 *     out_i += -f3 m_j + f5 r (r . m_j),    out_j += -f3 m_i + f5 r (r . m_i).
 * The operator is symmetric, so the gradient with respect to m is the same field of the
 * incoming gradient g; with respect to the pair data
 *     d/df3 = -(g_i . m_j + g_j . m_i),    d/df5 = (g_i . r)(m_j . r) + (g_j . r)(m_i . r),
 *     d/dr  = f5 [g_i (m_j . r) + m_j (g_i . r) + g_j (m_i . r) + m_i (g_j . r)].
 *
 * Buffered 14-7 (pinnff.physics.vdw): per pair at r = |x_j - x_i + shift| (sites, A), with the
 * cubic-mean R of the radii, epsilon by HHG (rule 0) or W-H (rule 1), rho = r/R,
 *     E = scale * S(r) * eps * tau^7 (1.12/(rho^7 + 0.12) - 2),   tau = 1.07/(rho + 0.07),
 * S the quintic switch from r_on to r_off (none when r_off is infinite); pairs beyond r_off or of
 * zero scale give 0. Charge transfer (pinnff.physics.chargetransfer) has the same shape with
 * sqrt|A_i A_j| exp(-(B_i + B_j) r / 2). The backward pass takes dL/dE per pair and returns
 * dL/dx (n, 3) and the gradients of both per-atom parameters (n,), accumulated per atom.
 *
 * Permanent multipoles (pinnff.physics.multipole): the pair energy of Tinker's empole with
 * GORDON2 charge penetration, per pair (e^2/A; the caller multiplies by 332.0637), from the
 * atoms' rows (n, 13): charge, dipole (3), Q = Theta/3 row by row (9); the radial factors f
 * (5, k) of 1, 1/r^3, 3/r^5, 15/r^7, 105/r^9 (screening and scale included, from the caller);
 * with penetration the cores z and exponents alpha (n,) and the pair scales (k,). The backward
 * pass is the forward's reverse-mode adjoint, written out term by term.
 *
 * Permanent field (polarization): the field at i of atom j's multipoles and at j of i's, from the
 * rows and the damped radial factors (3, k) of 1/r^3, 3/r^5, 15/r^7, accumulated per atom:
 *     f_i = -r (f3 q_j - f5 d_j.r + f7 r.Q_j.r) - f3 d_j + 2 f5 Q_j r
 *     f_j =  r (f3 q_i + f5 d_i.r + f7 r.Q_i.r) - f3 d_i - 2 f5 Q_i r
 * with its adjoint for the backward pass.
 *
 * MMFF94 valence terms (pinnff.physics.intramolecular, the inner step of multiple time stepping):
 * bonds, angles, stretch-bend and torsions of fixed parameters, energy and dE/dx in one pass
 * (OpenMP over the terms of each kind).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* Sum per-thread accumulators acc (threads, n*3) into out (n*3). */
#define DEFINE_REDUCE(REAL, SUFFIX)                                                          \
static void reduce_##SUFFIX(const double *acc, int threads, int64_t size, REAL *out) {      \
    for (int64_t a = 0; a < size; ++a) {                                                     \
        double s = 0.0;                                                                      \
        for (int t = 0; t < threads; ++t) s += acc[(int64_t)t * size + a];                   \
        out[a] = (REAL)s;                                                                    \
    }                                                                                        \
}

#define DEFINE_DIPOLE_FIELD(REAL, SUFFIX)                                                    \
int dipole_field_##SUFFIX(int64_t n, int64_t k, const int64_t *pi, const int64_t *pj,       \
                          const REAL *rv, const REAL *f3, const REAL *f5, const REAL *m,     \
                          REAL *out, int threads) {                                          \
    if (threads < 1) threads = 1;                                                            \
    double *acc = (double *)calloc((size_t)threads * (size_t)n * 3, sizeof(double));         \
    if (!acc) return 1;                                                                      \
    _Pragma("omp parallel num_threads(threads)")                                             \
    {                                                                                        \
        int t = 0, nt = 1;                                                                   \
        PINNFF_THREAD_ID(t, nt);                                                             \
        double *a = acc + (int64_t)t * n * 3;                                                \
        int64_t lo = k * t / nt, hi = k * (t + 1) / nt;                                      \
        const REAL *rx = rv, *ry = rv + k, *rz = rv + 2 * k;                                 \
        for (int64_t p = lo; p < hi; ++p) {                                                  \
            int64_t i = pi[p], j = pj[p];                                                    \
            double x = rx[p], y = ry[p], z = rz[p], c3 = f3[p], c5 = f5[p];                  \
            const REAL *mi = m + 3 * i, *mj = m + 3 * j;                                     \
            double ri = x * mi[0] + y * mi[1] + z * mi[2];                                   \
            double rj = x * mj[0] + y * mj[1] + z * mj[2];                                   \
            double *ai = a + 3 * i, *aj = a + 3 * j;                                         \
            ai[0] += -c3 * mj[0] + c5 * x * rj;                                              \
            ai[1] += -c3 * mj[1] + c5 * y * rj;                                              \
            ai[2] += -c3 * mj[2] + c5 * z * rj;                                              \
            aj[0] += -c3 * mi[0] + c5 * x * ri;                                              \
            aj[1] += -c3 * mi[1] + c5 * y * ri;                                              \
            aj[2] += -c3 * mi[2] + c5 * z * ri;                                              \
        }                                                                                    \
    }                                                                                        \
    reduce_##SUFFIX(acc, threads, n * 3, out);                                               \
    free(acc);                                                                               \
    return 0;                                                                                \
}                                                                                            \
                                                                                             \
/* Pair gradients of sum(g . field): grad_rv (3, k), grad_f3, grad_f5 (k,); any may be NULL. */ \
int dipole_field_pair_grad_##SUFFIX(int64_t k, const int64_t *pi, const int64_t *pj,         \
                                    const REAL *rv, const REAL *f5, const REAL *m,           \
                                    const REAL *g, REAL *grad_rv, REAL *grad_f3,             \
                                    REAL *grad_f5, int threads) {                            \
    if (threads < 1) threads = 1;                                                            \
    const REAL *rx = rv, *ry = rv + k, *rz = rv + 2 * k;                                     \
    _Pragma("omp parallel for num_threads(threads) schedule(static)")                        \
    for (int64_t p = 0; p < k; ++p) {                                                        \
        int64_t i = pi[p], j = pj[p];                                                        \
        double x = rx[p], y = ry[p], z = rz[p];                                              \
        const REAL *mi = m + 3 * i, *mj = m + 3 * j, *gi = g + 3 * i, *gj = g + 3 * j;       \
        double mir = x * mi[0] + y * mi[1] + z * mi[2];                                      \
        double mjr = x * mj[0] + y * mj[1] + z * mj[2];                                      \
        double gir = x * gi[0] + y * gi[1] + z * gi[2];                                      \
        double gjr = x * gj[0] + y * gj[1] + z * gj[2];                                      \
        if (grad_f3)                                                                         \
            grad_f3[p] = (REAL)(-(gi[0] * mj[0] + gi[1] * mj[1] + gi[2] * mj[2]              \
                                  + gj[0] * mi[0] + gj[1] * mi[1] + gj[2] * mi[2]));         \
        if (grad_f5) grad_f5[p] = (REAL)(gir * mjr + gjr * mir);                             \
        if (grad_rv) {                                                                       \
            double c5 = f5[p];                                                               \
            grad_rv[p] = (REAL)(c5 * (gi[0] * mjr + mj[0] * gir + gj[0] * mir + mi[0] * gjr)); \
            grad_rv[k + p] = (REAL)(c5 * (gi[1] * mjr + mj[1] * gir + gj[1] * mir + mi[1] * gjr)); \
            grad_rv[2 * k + p] = (REAL)(c5 * (gi[2] * mjr + mj[2] * gir + gj[2] * mir + mi[2] * gjr)); \
        }                                                                                    \
    }                                                                                        \
    return 0;                                                                                \
}

#include <math.h>

#ifdef _OPENMP
#define PINNFF_THREAD_ID(t, nt) do { t = omp_get_thread_num(); nt = omp_get_num_threads(); } while (0)
#else
#define PINNFF_THREAD_ID(t, nt) do { t = 0; nt = 1; } while (0)
#endif


/* Pair functions phi(r; a_i, a_j, b_i, b_j) of two per-atom parameters a, b, and with want_grad
 * their derivatives by r, a_i, a_j, b_i, b_j. A pair term multiplies phi by its scale and switch. */
static inline double vdw_phi(double r, double ri, double rj, double ei, double ej, int rule, int want_grad,
                             double *d_r, double *d_ri, double *d_rj, double *d_ei, double *d_ej) {
    /* buffered 14-7: a = R_min (A), b = epsilon (kcal/mol); rule 0 HHG, 1 W-H */
    double ri2 = ri * ri, rj2 = rj * rj, ri3 = ri2 * ri, rj3 = rj2 * rj;
    double num = ri3 + rj3, den = ri2 + rj2, R = num / den;
    double eps, de_ei = 0.0, de_ej = 0.0, de_ri = 0.0, de_rj = 0.0;
    if (rule == 0) {
        double si = sqrt(ei), sj = sqrt(ej), D = si + sj;
        eps = D > 0.0 ? 4.0 * ei * ej / (D * D) : 0.0;
        if (want_grad && D > 0.0) { double D3 = D * D * D; de_ei = 4.0 * sj * sj * sj / D3; de_ej = 4.0 * si * si * si / D3; }
    } else {
        double r6 = ri3 * ri3 + rj3 * rj3, root = sqrt(ei * ej);
        eps = 2.0 * root * ri3 * rj3 / r6;
        if (want_grad) {
            de_ei = ei > 0.0 ? eps / (2.0 * ei) : 0.0;
            de_ej = ej > 0.0 ? eps / (2.0 * ej) : 0.0;
            de_ri = eps * (3.0 / ri - 6.0 * ri2 * ri3 / r6);
            de_rj = eps * (3.0 / rj - 6.0 * rj2 * rj3 / r6);
        }
    }
    double rho = r / R, rho2 = rho * rho, rho6 = rho2 * rho2 * rho2, rho7 = rho6 * rho;
    double tau = 1.07 / (rho + 0.07), tau2 = tau * tau, tau7 = tau2 * tau2 * tau2 * tau;
    double b = rho7 + 0.12, g = 1.12 / b - 2.0, unit = tau7 * g;
    if (want_grad) {
        double de_drho = eps * tau7 * (-7.0 * g / (rho + 0.07) - 7.84 * rho6 / (b * b));
        double de_dR = -de_drho * rho / R;
        double d2 = den * den;
        *d_r = de_drho / R;
        *d_ri = de_dR * (3.0 * ri2 * den - num * 2.0 * ri) / d2 + unit * de_ri;
        *d_rj = de_dR * (3.0 * rj2 * den - num * 2.0 * rj) / d2 + unit * de_rj;
        *d_ei = unit * de_ei;
        *d_ej = unit * de_ej;
    }
    return eps * unit;
}

static inline double ct_phi(double r, double ai, double aj, double bi, double bj, int rule, int want_grad,
                            double *d_r, double *d_ai, double *d_aj, double *d_bi, double *d_bj) {
    /* charge transfer, COMBINED: sqrt|A_i A_j| exp(-(B_i + B_j) r / 2) (the scale carries -332.0637) */
    (void)rule;
    double e = sqrt(fabs(ai * aj)) * exp(-0.5 * (bi + bj) * r);
    if (want_grad) {
        *d_r = -0.5 * (bi + bj) * e;
        *d_ai = ai != 0.0 ? 0.5 * e / ai : 0.0;
        *d_aj = aj != 0.0 ? 0.5 * e / aj : 0.0;
        *d_bi = *d_bj = -0.5 * r * e;
    }
    return e;
}

/* The quintic switch S (1 below r_on, 0 beyond r_off, C2) and dS/dr; none when r_off is infinite. */
static inline double quintic_switch(double r, double r_on, double r_off, double *dS) {
    *dS = 0.0;
    if (!isfinite(r_off) || r <= r_on) return 1.0;
    double w = r_off - r_on, t = (r - r_on) / w;
    *dS = -30.0 * t * t * (1.0 - t) * (1.0 - t) / w;
    return 1.0 - t * t * t * (10.0 - 15.0 * t + 6.0 * t * t);
}

/* NAME_pairs: energies (k,) = scale S(r) phi of pairs at sites x (n, 3) (+ shift (k, 3), or NULL).
 * NAME_pairs_grad: from dL/dE (k,), dL/dx (n, 3), dL/da and dL/db (n,) (any output may be NULL). */
#define DEFINE_PAIR_TERM(NAME, PHI, REAL, SUFFIX)                                            \
int NAME##_pairs_##SUFFIX(int64_t k, const int64_t *pi, const int64_t *pj, const REAL *x,   \
                          const REAL *shift, const REAL *scale, const REAL *pa,              \
                          const REAL *pb, int rule, double r_on, double r_off, REAL *energy, \
                          int threads) {                                                     \
    if (threads < 1) threads = 1;                                                            \
    _Pragma("omp parallel for num_threads(threads) schedule(static)")                        \
    for (int64_t p = 0; p < k; ++p) {                                                        \
        int64_t i = pi[p], j = pj[p];                                                        \
        double w = scale[p], e = 0.0;                                                        \
        if (w != 0.0) {                                                                      \
            double dx = x[3 * j] - x[3 * i], dy = x[3 * j + 1] - x[3 * i + 1],               \
                   dz = x[3 * j + 2] - x[3 * i + 2];                                         \
            if (shift) { dx += shift[3 * p]; dy += shift[3 * p + 1]; dz += shift[3 * p + 2]; } \
            double r = sqrt(dx * dx + dy * dy + dz * dz), dS;                                \
            if (r < r_off)                                                                   \
                e = w * quintic_switch(r, r_on, r_off, &dS)                                  \
                    * PHI(r, pa[i], pa[j], pb[i], pb[j], rule, 0, NULL, NULL, NULL, NULL, NULL); \
        }                                                                                    \
        energy[p] = (REAL)e;                                                                 \
    }                                                                                        \
    return 0;                                                                                \
}                                                                                            \
                                                                                             \
int NAME##_pairs_grad_##SUFFIX(int64_t n, int64_t k, const int64_t *pi, const int64_t *pj,  \
                               const REAL *x, const REAL *shift, const REAL *scale,          \
                               const REAL *pa, const REAL *pb, int rule, double r_on,        \
                               double r_off, const REAL *grad_e, REAL *grad_x,               \
                               REAL *grad_a, REAL *grad_b, double *total, REAL *energy_pairs, \
                               int threads) {                                                \
    /* grad_e NULL: unit weights (the gradient of the sum), with the sum itself in total and,  \
     * where energy_pairs is given, each pair's energy (k,) */                                \
    if (threads < 1) threads = 1;                                                            \
    double *acc = (double *)calloc((size_t)threads * (size_t)n * 5, sizeof(double));         \
    if (!acc) return 1;                                                                      \
    double sum_e = 0.0;                                                                      \
    _Pragma("omp parallel num_threads(threads) reduction(+:sum_e)")                          \
    {                                                                                        \
        int t = 0, nt = 1;                                                                   \
        PINNFF_THREAD_ID(t, nt);                                                             \
        double *a = acc + (int64_t)t * n * 5; /* x, y, z, a, b per atom */                   \
        int64_t lo = k * t / nt, hi = k * (t + 1) / nt;                                      \
        for (int64_t p = lo; p < hi; ++p) {                                                  \
            int64_t i = pi[p], j = pj[p];                                                    \
            if (energy_pairs) energy_pairs[p] = 0;                                           \
            double w = scale[p] * (grad_e ? grad_e[p] : 1.0);                                \
            if (w == 0.0) continue;                                                          \
            double dx = x[3 * j] - x[3 * i], dy = x[3 * j + 1] - x[3 * i + 1],               \
                   dz = x[3 * j + 2] - x[3 * i + 2];                                         \
            if (shift) { dx += shift[3 * p]; dy += shift[3 * p + 1]; dz += shift[3 * p + 2]; } \
            double r = sqrt(dx * dx + dy * dy + dz * dz);                                    \
            if (!(r < r_off)) continue;                                                      \
            double dS, S = quintic_switch(r, r_on, r_off, &dS);                              \
            double d_r, d_ai, d_aj, d_bi, d_bj;                                              \
            double phi = PHI(r, pa[i], pa[j], pb[i], pb[j], rule, 1, &d_r, &d_ai, &d_aj,     \
                             &d_bi, &d_bj);                                                  \
            double c = w * (dS * phi + S * d_r) / r, ws = w * S;                             \
            sum_e += ws * phi;                                                               \
            if (energy_pairs) energy_pairs[p] = (REAL)(ws * phi);                            \
            double *ai = a + 5 * i, *aj = a + 5 * j;                                         \
            ai[0] -= c * dx; ai[1] -= c * dy; ai[2] -= c * dz;                               \
            aj[0] += c * dx; aj[1] += c * dy; aj[2] += c * dz;                               \
            ai[3] += ws * d_ai; aj[3] += ws * d_aj;                                          \
            ai[4] += ws * d_bi; aj[4] += ws * d_bj;                                          \
        }                                                                                    \
    }                                                                                        \
    for (int64_t atom = 0; atom < n; ++atom) {                                               \
        double s[5] = {0.0, 0.0, 0.0, 0.0, 0.0};                                             \
        for (int t = 0; t < threads; ++t)                                                    \
            for (int c = 0; c < 5; ++c) s[c] += acc[((int64_t)t * n + atom) * 5 + c];        \
        if (grad_x) { grad_x[3 * atom] = (REAL)s[0]; grad_x[3 * atom + 1] = (REAL)s[1];      \
                      grad_x[3 * atom + 2] = (REAL)s[2]; }                                   \
        if (grad_a) grad_a[atom] = (REAL)s[3];                                               \
        if (grad_b) grad_b[atom] = (REAL)s[4];                                               \
    }                                                                                        \
    if (total) *total = sum_e;                                                               \
    free(acc);                                                                               \
    return 0;                                                                                \
}


static inline void sub3(const double *a, const double *b, double *out) {
    out[0] = a[0] - b[0]; out[1] = a[1] - b[1]; out[2] = a[2] - b[2];
}
static inline double dot3(const double *a, const double *b) { return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]; }
static inline void cross3(const double *a, const double *b, double *out) {
    out[0] = a[1] * b[2] - a[2] * b[1]; out[1] = a[2] * b[0] - a[0] * b[2]; out[2] = a[0] * b[1] - a[1] * b[0];
}

/* constants: bond k (143.9325), cubic stretch cs (1/A), angle k, cubic bend cb (1/deg), stretch-bend k,
 * degrees per radian. Angles in degrees as MMFF94 defines them; torsions by their dihedral (rad). */
#define DEFINE_VALENCE(REAL, SUFFIX)                                                         \
int valence_##SUFFIX(int64_t n, const REAL *xr, const double *constants,                    \
                     int64_t nb, const int64_t *bonds, const REAL *kb, const REAL *r0,      \
                     int64_t na, const int64_t *angles, const REAL *ka, const REAL *t0,     \
                     const REAL *ar0, const REAL *kba,                                      \
                     int64_t nt, const int64_t *tors, const REAL *v,                        \
                     double *energy, REAL *grad_out, int threads) {                         \
    const double BK = constants[0], CS = constants[1], AK = constants[2], CB = constants[3],  \
                 SK = constants[4], DEG = constants[5];                                     \
    if (threads < 1) threads = 1;                                                            \
    double *gall = (double *)calloc((size_t)threads * (size_t)n * 3, sizeof(double));        \
    if (!gall) return 1;                                                                     \
    double e = 0.0;                                                                          \
    _Pragma("omp parallel num_threads(threads) reduction(+:e)")                              \
    {                                                                                        \
    int th = 0, nth = 1;                                                                     \
    PINNFF_THREAD_ID(th, nth); (void)nth;                                                    \
    double *g = gall + (int64_t)th * n * 3;                                                  \
    _Pragma("omp for schedule(static) nowait")                                               \
    for (int64_t t = 0; t < nb; ++t) {                                                       \
        int64_t i = bonds[2 * t], j = bonds[2 * t + 1];                                      \
        double d[3] = {xr[3 * j] - xr[3 * i], xr[3 * j + 1] - xr[3 * i + 1], xr[3 * j + 2] - xr[3 * i + 2]}; \
        double r = sqrt(dot3(d, d)), dr = r - r0[t], k = kb[t];                              \
        double poly = 1.0 + CS * dr + 7.0 / 12.0 * CS * CS * dr * dr;                        \
        e += 0.5 * BK * k * dr * dr * poly;                                                  \
        double de = BK * k * dr * poly + 0.5 * BK * k * dr * dr * (CS + 7.0 / 6.0 * CS * CS * dr); \
        for (int c = 0; c < 3; ++c) { g[3 * j + c] += de * d[c] / r; g[3 * i + c] -= de * d[c] / r; } \
    }                                                                                        \
    _Pragma("omp for schedule(static) nowait")                                               \
    for (int64_t t = 0; t < na; ++t) {                                                       \
        int64_t a = angles[3 * t], b = angles[3 * t + 1], c = angles[3 * t + 2];             \
        double xa[3], xb[3], xc[3], u[3], w[3];                                              \
        for (int q = 0; q < 3; ++q) { xa[q] = xr[3 * a + q]; xb[q] = xr[3 * b + q]; xc[q] = xr[3 * c + q]; } \
        sub3(xa, xb, u); sub3(xc, xb, w);                                                    \
        double lu = sqrt(dot3(u, u)), lw = sqrt(dot3(w, w));                                 \
        double cs = dot3(u, w) / (lu * lw);                                                  \
        double clamped = cs > 1.0 ? 1.0 : (cs < -1.0 ? -1.0 : cs);                           \
        double theta = acos(clamped) * DEG, dt = theta - t0[t];                              \
        double dri = lu - ar0[2 * t], drk = lw - ar0[2 * t + 1];                             \
        double k = ka[t], k1 = kba[2 * t], k2 = kba[2 * t + 1];                              \
        e += 0.5 * AK * k * dt * dt * (1.0 + CB * dt) + SK * (k1 * dri + k2 * drk) * dt;     \
        double de_dt = AK * k * dt * (1.0 + CB * dt) + 0.5 * AK * k * dt * dt * CB            \
                       + SK * (k1 * dri + k2 * drk);                                         \
        double de_lu = SK * k1 * dt, de_lw = SK * k2 * dt;                                   \
        double s2 = 1.0 - clamped * clamped;                                                 \
        double de_cos = (cs > -1.0 && cs < 1.0 && s2 > 0.0) ? -de_dt * DEG / sqrt(s2) : 0.0; \
        for (int q = 0; q < 3; ++q) {                                                        \
            double gu = de_cos * (w[q] / (lu * lw) - cs * u[q] / (lu * lu)) + de_lu * u[q] / lu; \
            double gw = de_cos * (u[q] / (lu * lw) - cs * w[q] / (lw * lw)) + de_lw * w[q] / lw; \
            g[3 * a + q] += gu; g[3 * c + q] += gw; g[3 * b + q] -= gu + gw;                 \
        }                                                                                    \
    }                                                                                        \
    _Pragma("omp for schedule(static) nowait")                                               \
    for (int64_t t = 0; t < nt; ++t) {                                                       \
        int64_t a = tors[4 * t], b = tors[4 * t + 1], c = tors[4 * t + 2], d = tors[4 * t + 3]; \
        double xa[3], xb[3], xc[3], xd[3], F[3], G[3], H[3], A[3], B[3], BA[3];              \
        for (int q = 0; q < 3; ++q) { xa[q] = xr[3 * a + q]; xb[q] = xr[3 * b + q];          \
                                      xc[q] = xr[3 * c + q]; xd[q] = xr[3 * d + q]; }        \
        sub3(xa, xb, F); sub3(xb, xc, G); sub3(xd, xc, H);                                   \
        cross3(F, G, A); cross3(H, G, B);                                                    \
        double a2 = dot3(A, A), b2 = dot3(B, B), lg = sqrt(dot3(G, G));                      \
        cross3(B, A, BA);                                                                    \
        double phi = atan2(dot3(BA, G) / lg, dot3(A, B));                                    \
        double v1 = v[3 * t], v2 = v[3 * t + 1], v3 = v[3 * t + 2];                          \
        e += 0.5 * (v1 * (1.0 + cos(phi)) + v2 * (1.0 - cos(2.0 * phi)) + v3 * (1.0 + cos(3.0 * phi))); \
        double de = 0.5 * (-v1 * sin(phi) + 2.0 * v2 * sin(2.0 * phi) - 3.0 * v3 * sin(3.0 * phi)); \
        double fg = dot3(F, G), hg = dot3(H, G);                                             \
        for (int q = 0; q < 3; ++q) {                                                        \
            double ga = -lg / a2 * A[q], gd = lg / b2 * B[q];                                \
            double gb = lg / a2 * A[q] + fg / (a2 * lg) * A[q] - hg / (b2 * lg) * B[q];      \
            double gc = -lg / b2 * B[q] - fg / (a2 * lg) * A[q] + hg / (b2 * lg) * B[q];     \
            g[3 * a + q] += de * ga; g[3 * b + q] += de * gb;                                \
            g[3 * c + q] += de * gc; g[3 * d + q] += de * gd;                                \
        }                                                                                    \
    }                                                                                        \
    }                                                                                        \
    *energy = e;                                                                             \
    for (int64_t q = 0; q < 3 * n; ++q) {                                                    \
        double sum = 0.0;                                                                    \
        for (int t = 0; t < threads; ++t) sum += gall[(int64_t)t * n * 3 + q];               \
        grad_out[q] = (REAL)sum;                                                             \
    }                                                                                        \
    free(gall);                                                                              \
    return 0;                                                                                \
}


/* GORDON2 deficits l_n - 1 of one exponent (core-valence, n = 0..2) at x = alpha r (e = exp(-x)), and d/dx. */
static inline void cp_core_deficits(double x, double e, double *d, double *dd) {
    double x2 = x * x;
    d[0] = -e; d[1] = -(1.0 + x) * e; d[2] = -(1.0 + x + x2 / 3.0) * e;
    dd[0] = e; dd[1] = x * e; dd[2] = (x + x2) / 3.0 * e;
}

/* -P_n(x) e of the unequal-exponent valence-valence factors (n = 0..4) at e = exp(-x), and d/dx. */
static inline void cp_vv_pieces(double x, double e, double *d, double *dd) {
    double x2 = x * x, x3 = x2 * x, x4 = x2 * x2;
    d[0] = -e; d[1] = -(1.0 + x) * e; d[2] = -(1.0 + x + x2 / 3.0) * e;
    d[3] = -(1.0 + x + 0.4 * x2 + x3 / 15.0) * e;
    d[4] = -(1.0 + x + 3.0 * x2 / 7.0 + 2.0 * x3 / 21.0 + x4 / 105.0) * e;
    dd[0] = e; dd[1] = x * e; dd[2] = (x + x2) / 3.0 * e; dd[3] = (0.2 * x + 0.2 * x2 + x3 / 15.0) * e;
    dd[4] = (x / 7.0 + x2 / 7.0 + 2.0 * x3 / 35.0 + x4 / 105.0) * e;
}

/* Valence-valence deficits v (n = 0..4) of exponents ai, ak at r (ei, ek = exp(-ai r), exp(-ak r))
 * with dv/dr, dv/dai, dv/dak. */
static inline void cp_vv_deficits(double r, double ai, double ak, double ei, double ek, double *v, double *vr,
                                  double *va, double *vk) {
    if (fabs(ai - ak) < 1.0e-3) { /* equal-exponent limit, in ai (damping.EQUAL_ALPHA_TOL) */
        double x = ai * r, e = ei, x2 = x * x, x3 = x2 * x, x4 = x2 * x2, x5 = x4 * x;
        double base = 1.0 + x + 0.5 * x2;
        double P[5] = {1.0 + 0.5 * x, base, base + x3 / 6.0, base + x3 / 6.0 + x4 / 30.0,
                       base + x3 / 6.0 + 4.0 * x4 / 105.0 + x5 / 210.0};
        double dP[5] = {0.5 + 0.5 * x, 0.5 * x2, x3 / 6.0, (x3 + x4) / 30.0, x3 / 70.0 + x4 / 70.0 + x5 / 210.0};
        for (int n = 0; n < 5; ++n) {
            v[n] = -P[n] * e; vr[n] = dP[n] * e * ai; va[n] = dP[n] * e * r; vk[n] = 0.0;
        }
        return;
    }
    double ai2 = ai * ai, ak2 = ak * ak, den = ak2 - ai2, den2 = den * den;
    double ti = ak2 / den, tk = -ai2 / den;
    double ti_a = 2.0 * ai * ak2 / den2, ti_k = -2.0 * ak * ai2 / den2;
    double tk_a = -2.0 * ai * ak2 / den2, tk_k = 2.0 * ak * ai2 / den2;
    double di[5], ddi[5], dk[5], ddk[5];
    cp_vv_pieces(ai * r, ei, di, ddi);
    cp_vv_pieces(ak * r, ek, dk, ddk);
    for (int n = 0; n < 5; ++n) {
        v[n] = ti * di[n] + tk * dk[n];
        vr[n] = ti * ddi[n] * ai + tk * ddk[n] * ak;
        va[n] = ti_a * di[n] + ti * ddi[n] * r + tk_a * dk[n];
        vk[n] = ti_k * di[n] + tk_k * dk[n] + tk * ddk[n] * r;
    }
}


#define DEFINE_MULTIPOLE(REAL, SUFFIX)                                                       \
int multipole_pairs_##SUFFIX(int64_t n, int64_t k, const int64_t *pi, const int64_t *pj,    \
                             const REAL *rv, const REAL *f, const REAL *rows,               \
                             const REAL *core, const REAL *alpha, const REAL *cp_scale,     \
                             const REAL *grad_e, REAL *energy, REAL *grad_rv, REAL *grad_f,  \
                             REAL *grad_rows, REAL *grad_core, REAL *grad_alpha,            \
                             REAL *grad_cp_scale, double *total, REAL *energy_pairs,        \
                             int threads) {                                                  \
    /* energy given: per-pair energies (k,); else the gradients of sum(grad_e * energy), with  \
     * grad_e NULL the gradients of the sum (unit weights), the sum itself in total and, where \
     * energy_pairs is given, each pair's energy (k,) */                                      \
    if (threads < 1) threads = 1;                                                            \
    int backward = energy == NULL, cp = cp_scale != NULL, geo = grad_rv != NULL;            \
    double sum_e = 0.0;                                                                      \
    double *acc = NULL;                                                                      \
    if (backward) {                                                                          \
        acc = (double *)calloc((size_t)threads * (size_t)n * 15, sizeof(double));            \
        if (!acc) return 1;                                                                  \
    }                                                                                        \
    _Pragma("omp parallel num_threads(threads) reduction(+:sum_e)")                          \
    {                                                                                        \
        int t = 0, nt = 1;                                                                   \
        PINNFF_THREAD_ID(t, nt);                                                             \
        double *a = backward ? acc + (int64_t)t * n * 15 : NULL; /* rows (13), core, alpha */ \
        int64_t lo = k * t / nt, hi = k * (t + 1) / nt;                                      \
        for (int64_t p = lo; p < hi; ++p) {                                                  \
            int64_t i = pi[p], j = pj[p];                                                    \
            const REAL *ri = rows + 13 * i, *rk = rows + 13 * j;                             \
            double R[3] = {rv[p], rv[k + p], rv[2 * k + p]};                                 \
            double ci = ri[0], ck = rk[0], di[3], dk[3], Qi[9], Qk[9], qi_r[3], qk_r[3];     \
            for (int c = 0; c < 3; ++c) { di[c] = ri[1 + c]; dk[c] = rk[1 + c]; }            \
            for (int c = 0; c < 9; ++c) { Qi[c] = ri[4 + c]; Qk[c] = rk[4 + c]; }            \
            for (int c = 0; c < 3; ++c) {                                                    \
                qi_r[c] = Qi[3 * c] * R[0] + Qi[3 * c + 1] * R[1] + Qi[3 * c + 2] * R[2];    \
                qk_r[c] = Qk[3 * c] * R[0] + Qk[3 * c + 1] * R[1] + Qk[3 * c + 2] * R[2];    \
            }                                                                                \
            double dir = dot3(di, R), dkr = dot3(dk, R), dik = dot3(di, dk);                 \
            double qir = dot3(qi_r, R), qkr = dot3(qk_r, R), qik = dot3(qi_r, qk_r);         \
            double diqk = dot3(di, qk_r), dkqi = dot3(dk, qi_r), qiqk = 0.0;                 \
            for (int c = 0; c < 9; ++c) qiqk += Qi[c] * Qk[c];                               \
            double t1 = ci * ck, t2 = ck * dir - ci * dkr + dik;                             \
            double t3mm = -dir * dkr + 2.0 * (dkqi - diqk + qiqk);                           \
            double t3 = ci * qkr + ck * qir + t3mm, t4 = dir * qkr - dkr * qir - 4.0 * qik;   \
            double t5 = qir * qkr;                                                           \
            double F[5] = {f[p], f[k + p], f[2 * k + p], f[3 * k + p], f[4 * k + p]};        \
            double e = t1 * F[0] + t2 * F[1] + t3 * F[2] + t4 * F[3] + t5 * F[4];            \
            double r = 0.0, rr[5], gi[3] = {0, 0, 0}, gk[3] = {0, 0, 0}, gv[5] = {0, 0, 0, 0, 0}; \
            double zi = 0.0, zk = 0.0, vi = 0.0, vk = 0.0, s = 0.0, ai_ = 0.0, ak_ = 0.0;    \
            double cdi[3], cddi[3], cdk[3], cddk[3], vvd[5], vvr[5], vva[5], vvk[5];         \
            if (cp) {                                                                        \
                r = sqrt(dot3(R, R));                                                        \
                double r1 = 1.0 / r, r2 = r1 * r1;                                           \
                rr[0] = r1; rr[1] = r1 * r2; rr[2] = 3.0 * rr[1] * r2; rr[3] = 5.0 * rr[2] * r2; \
                rr[4] = 7.0 * rr[3] * r2;                                                    \
                zi = core[i]; zk = core[j]; vi = ci - zi; vk = ck - zk; s = cp_scale[p];     \
                ai_ = alpha[i]; ak_ = alpha[j];                                              \
                double ei = exp(-ai_ * r), ek = exp(-ak_ * r);                               \
                cp_core_deficits(ai_ * r, ei, cdi, cddi);                                    \
                cp_core_deficits(ak_ * r, ek, cdk, cddk);                                    \
                cp_vv_deficits(r, ai_, ak_, ei, ek, vvd, vvr, vva, vvk);                     \
                for (int m = 0; m < 3; ++m) { gi[m] = s * cdi[m] * rr[m]; gk[m] = s * cdk[m] * rr[m]; } \
                for (int m = 0; m < 5; ++m) gv[m] = s * vvd[m] * rr[m];                      \
                e += zk * (vi * gi[0] + dir * gi[1] + qir * gi[2]);                          \
                e += zi * (vk * gk[0] - dkr * gk[1] + qkr * gk[2]);                          \
                e += vi * vk * gv[0] + (vk * dir - vi * dkr + dik) * gv[1]                   \
                     + (vi * qkr + vk * qir + t3mm) * gv[2] + t4 * gv[3] + t5 * gv[4];        \
            }                                                                                \
            if (!backward) { energy[p] = (REAL)e; continue; }                                \
            sum_e += e;                                                                      \
            if (energy_pairs) energy_pairs[p] = (REAL)e;                                     \
            double w = grad_e ? grad_e[p] : 1.0;                                             \
            if (w == 0.0) {                                                                  \
                if (grad_f) for (int m = 0; m < 5; ++m) grad_f[m * k + p] = 0;               \
                if (geo) for (int c = 0; c < 3; ++c) grad_rv[c * k + p] = 0;                 \
                if (cp && grad_cp_scale) grad_cp_scale[p] = 0;                               \
                continue;                                                                    \
            }                                                                                \
            if (grad_f) {                                                                    \
                grad_f[p] = (REAL)(w * t1); grad_f[k + p] = (REAL)(w * t2);                  \
                grad_f[2 * k + p] = (REAL)(w * t3); grad_f[3 * k + p] = (REAL)(w * t4);      \
                grad_f[4 * k + p] = (REAL)(w * t5);                                          \
            }                                                                                \
            double a_t1 = w * F[0], a_t2 = w * F[1], a_t3 = w * F[2], a_t4 = w * F[3], a_t5 = w * F[4]; \
            double a_ci = 0, a_ck = 0, a_zi = 0, a_zk = 0, a_vi = 0, a_vk = 0, a_t3mm = 0;   \
            double a_dir = 0, a_dkr = 0, a_dik = 0, a_qir = 0, a_qkr = 0;                    \
            double a_r = 0, a_ai = 0, a_ak = 0, a_s = 0;                                     \
            if (cp) {                                                                        \
                a_zk += w * (vi * gi[0] + dir * gi[1] + qir * gi[2]);                        \
                a_vi += w * zk * gi[0]; a_dir += w * zk * gi[1]; a_qir += w * zk * gi[2];    \
                double a_gi[3] = {w * zk * vi, w * zk * dir, w * zk * qir};                  \
                a_zi += w * (vk * gk[0] - dkr * gk[1] + qkr * gk[2]);                        \
                a_vk += w * zi * gk[0]; a_dkr -= w * zi * gk[1]; a_qkr += w * zi * gk[2];    \
                double a_gk[3] = {w * zi * vk, -w * zi * dkr, w * zi * qkr};                 \
                a_vi += w * (vk * gv[0] - dkr * gv[1] + qkr * gv[2]);                        \
                a_vk += w * (vi * gv[0] + dir * gv[1] + qir * gv[2]);                        \
                a_dir += w * vk * gv[1]; a_dkr -= w * vi * gv[1]; a_dik += w * gv[1];        \
                a_qkr += w * vi * gv[2]; a_qir += w * vk * gv[2]; a_t3mm += w * gv[2];       \
                a_t4 += w * gv[3]; a_t5 += w * gv[4];                                        \
                double a_gv[5] = {w * vi * vk, w * (vk * dir - vi * dkr + dik),              \
                                  w * (vi * qkr + vk * qir + t3mm), w * t4, w * t5};         \
                for (int m = 0; m < 3; ++m) {                                                \
                    a_s += a_gi[m] * cdi[m] * rr[m] + a_gk[m] * cdk[m] * rr[m];              \
                    a_ai += a_gi[m] * s * cddi[m] * r * rr[m];                               \
                    a_ak += a_gk[m] * s * cddk[m] * r * rr[m];                               \
                }                                                                            \
                for (int m = 0; m < 5; ++m) {                                                \
                    a_s += a_gv[m] * vvd[m] * rr[m];                                         \
                    a_ai += a_gv[m] * s * vva[m] * rr[m];                                    \
                    a_ak += a_gv[m] * s * vvk[m] * rr[m];                                    \
                }                                                                            \
                if (geo) {                                                                   \
                    for (int m = 0; m < 3; ++m) {                                            \
                        double drr = -(2.0 * m + 1.0) * rr[m] / r;                           \
                        a_r += a_gi[m] * s * (cddi[m] * ai_ * rr[m] + cdi[m] * drr)          \
                             + a_gk[m] * s * (cddk[m] * ak_ * rr[m] + cdk[m] * drr);         \
                    }                                                                        \
                    for (int m = 0; m < 5; ++m) {                                            \
                        double drr = -(2.0 * m + 1.0) * rr[m] / r;                           \
                        a_r += a_gv[m] * s * (vvr[m] * rr[m] + vvd[m] * drr);                \
                    }                                                                        \
                }                                                                            \
                a_ci += a_vi; a_zi -= a_vi; a_ck += a_vk; a_zk -= a_vk;                      \
            }                                                                                \
            a_ci += a_t1 * ck - a_t2 * dkr + a_t3 * qkr;                                     \
            a_ck += a_t1 * ci + a_t2 * dir + a_t3 * qir;                                     \
            a_dir += a_t2 * ck; a_dkr -= a_t2 * ci; a_dik += a_t2;                           \
            a_qkr += a_t3 * ci; a_qir += a_t3 * ck; a_t3mm += a_t3;                          \
            a_dir -= a_t3mm * dkr; a_dkr -= a_t3mm * dir;                                    \
            double a_dkqi = 2.0 * a_t3mm, a_diqk = -2.0 * a_t3mm, a_qiqk = 2.0 * a_t3mm;     \
            a_dir += a_t4 * qkr; a_qkr += a_t4 * dir; a_dkr -= a_t4 * qir; a_qir -= a_t4 * dkr; \
            double a_qik = -4.0 * a_t4;                                                      \
            a_qir += a_t5 * qkr; a_qkr += a_t5 * qir;                                        \
            double a_R[3], a_di[3], a_dk[3], a_qi_r[3], a_qk_r[3];                           \
            for (int c = 0; c < 3; ++c) {                                                    \
                a_di[c] = a_dir * R[c] + a_dik * dk[c] + a_diqk * qk_r[c];                   \
                a_dk[c] = a_dkr * R[c] + a_dik * di[c] + a_dkqi * qi_r[c];                   \
                a_qi_r[c] = a_qir * R[c] + a_qik * qk_r[c] + a_dkqi * dk[c];                 \
                a_qk_r[c] = a_qkr * R[c] + a_qik * qi_r[c] + a_diqk * di[c];                 \
                a_R[c] = a_dir * di[c] + a_dkr * dk[c] + a_qir * qi_r[c] + a_qkr * qk_r[c];  \
            }                                                                                \
            double *ai = a + 15 * i, *ak = a + 15 * j;                                       \
            for (int c = 0; c < 3; ++c)                                                      \
                for (int d = 0; d < 3; ++d) {                                                \
                    ai[4 + 3 * c + d] += a_qi_r[c] * R[d] + a_qiqk * Qk[3 * c + d];          \
                    ak[4 + 3 * c + d] += a_qk_r[c] * R[d] + a_qiqk * Qi[3 * c + d];          \
                    a_R[d] += a_qi_r[c] * Qi[3 * c + d] + a_qk_r[c] * Qk[3 * c + d];         \
                }                                                                            \
            if (geo) {                                                                       \
                if (cp) for (int c = 0; c < 3; ++c) a_R[c] += a_r * R[c] / r;                \
                for (int c = 0; c < 3; ++c) grad_rv[c * k + p] = (REAL)a_R[c];               \
            }                                                                                \
            for (int c = 0; c < 3; ++c) { ai[1 + c] += a_di[c]; ak[1 + c] += a_dk[c]; }      \
            ai[0] += a_ci; ak[0] += a_ck;                                                    \
            if (cp) {                                                                        \
                ai[13] += a_zi; ak[13] += a_zk; ai[14] += a_ai; ak[14] += a_ak;              \
                if (grad_cp_scale) grad_cp_scale[p] = (REAL)a_s;                             \
            }                                                                                \
        }                                                                                    \
    }                                                                                        \
    if (backward) {                                                                          \
        for (int64_t atom = 0; atom < n; ++atom) {                                           \
            double sum[15] = {0};                                                            \
            for (int t = 0; t < threads; ++t)                                                \
                for (int c = 0; c < 15; ++c) sum[c] += acc[((int64_t)t * n + atom) * 15 + c]; \
            if (grad_rows) for (int c = 0; c < 13; ++c) grad_rows[13 * atom + c] = (REAL)sum[c]; \
            if (grad_core) grad_core[atom] = (REAL)sum[13];                                  \
            if (grad_alpha) grad_alpha[atom] = (REAL)sum[14];                                \
        }                                                                                    \
        if (total) *total = sum_e;                                                           \
        free(acc);                                                                           \
    }                                                                                        \
    return 0;                                                                                \
}


#define DEFINE_PERMANENT_FIELD(REAL, SUFFIX)                                                 \
int permanent_field_##SUFFIX(int64_t n, int64_t k, const int64_t *pi, const int64_t *pj,    \
                             const REAL *rv, const REAL *fac, const REAL *rows, const REAL *G, \
                             REAL *field, REAL *grad_rv, REAL *grad_fac, REAL *grad_rows,   \
                             int threads) {                                                  \
    /* forward (G NULL): field (n, 3); backward: gradients of sum(G . field) */              \
    if (threads < 1) threads = 1;                                                            \
    int backward = G != NULL, width = backward ? 13 : 3;                                     \
    double *acc = (double *)calloc((size_t)threads * (size_t)n * width, sizeof(double));     \
    if (!acc) return 1;                                                                      \
    _Pragma("omp parallel num_threads(threads)")                                             \
    {                                                                                        \
        int t = 0, nt = 1;                                                                   \
        PINNFF_THREAD_ID(t, nt);                                                             \
        double *a = acc + (int64_t)t * n * width;                                            \
        int64_t lo = k * t / nt, hi = k * (t + 1) / nt;                                      \
        for (int64_t p = lo; p < hi; ++p) {                                                  \
            int64_t i = pi[p], j = pj[p];                                                    \
            const REAL *ri = rows + 13 * i, *rk = rows + 13 * j;                             \
            double R[3] = {rv[p], rv[k + p], rv[2 * k + p]};                                 \
            double f3 = fac[p], f5 = fac[k + p], f7 = fac[2 * k + p];                        \
            double ci = ri[0], ck = rk[0], di[3], dk[3], Qi[9], Qk[9], qi_r[3], qk_r[3];     \
            for (int c = 0; c < 3; ++c) { di[c] = ri[1 + c]; dk[c] = rk[1 + c]; }            \
            for (int c = 0; c < 9; ++c) { Qi[c] = ri[4 + c]; Qk[c] = rk[4 + c]; }            \
            for (int c = 0; c < 3; ++c) {                                                    \
                qi_r[c] = Qi[3 * c] * R[0] + Qi[3 * c + 1] * R[1] + Qi[3 * c + 2] * R[2];    \
                qk_r[c] = Qk[3 * c] * R[0] + Qk[3 * c + 1] * R[1] + Qk[3 * c + 2] * R[2];    \
            }                                                                                \
            double dir = dot3(di, R), dkr = dot3(dk, R), qir = dot3(qi_r, R), qkr = dot3(qk_r, R); \
            double Ai = f3 * ck - f5 * dkr + f7 * qkr, Bk = f3 * ci + f5 * dir + f7 * qir;    \
            if (!backward) {                                                                 \
                double *ai = a + 3 * i, *ak = a + 3 * j;                                     \
                for (int c = 0; c < 3; ++c) {                                                \
                    ai[c] += -R[c] * Ai - f3 * dk[c] + 2.0 * f5 * qk_r[c];                   \
                    ak[c] += R[c] * Bk - f3 * di[c] - 2.0 * f5 * qi_r[c];                    \
                }                                                                            \
                continue;                                                                    \
            }                                                                                \
            const REAL *gi = G + 3 * i, *gk = G + 3 * j;                                     \
            double gI[3] = {gi[0], gi[1], gi[2]}, gK[3] = {gk[0], gk[1], gk[2]};             \
            double gir = dot3(gI, R), gkr = dot3(gK, R);                                     \
            if (grad_fac) {                                                                  \
                grad_fac[p] = (REAL)(-gir * ck - dot3(gI, dk) + gkr * ci - dot3(gK, di));    \
                grad_fac[k + p] = (REAL)(gir * dkr + 2.0 * dot3(gI, qk_r) + gkr * dir        \
                                         - 2.0 * dot3(gK, qi_r));                            \
                grad_fac[2 * k + p] = (REAL)(-gir * qkr + gkr * qir);                        \
            }                                                                                \
            if (grad_rv) { /* fixed geometries (training) need none */                       \
                double QkTg[3], QiTg[3], Qksym[3], Qisym[3];                                 \
                for (int c = 0; c < 3; ++c) {                                                \
                    QkTg[c] = Qk[c] * gI[0] + Qk[3 + c] * gI[1] + Qk[6 + c] * gI[2];         \
                    QiTg[c] = Qi[c] * gK[0] + Qi[3 + c] * gK[1] + Qi[6 + c] * gK[2];         \
                    Qksym[c] = qk_r[c] + Qk[c] * R[0] + Qk[3 + c] * R[1] + Qk[6 + c] * R[2]; \
                    Qisym[c] = qi_r[c] + Qi[c] * R[0] + Qi[3 + c] * R[1] + Qi[6 + c] * R[2]; \
                }                                                                            \
                for (int c = 0; c < 3; ++c)                                                  \
                    grad_rv[c * k + p] = (REAL)(-gI[c] * Ai - gir * (-f5 * dk[c] + f7 * Qksym[c]) \
                                                + 2.0 * f5 * QkTg[c] + gK[c] * Bk            \
                                                + gkr * (f5 * di[c] + f7 * Qisym[c]) - 2.0 * f5 * QiTg[c]); \
            }                                                                                \
            double *ai = a + 13 * i, *ak = a + 13 * j;                                       \
            ak[0] += -gir * f3;                                                              \
            ai[0] += gkr * f3;                                                               \
            for (int c = 0; c < 3; ++c) {                                                    \
                ak[1 + c] += f5 * gir * R[c] - f3 * gI[c];                                   \
                ai[1 + c] += f5 * gkr * R[c] - f3 * gK[c];                                   \
                for (int d = 0; d < 3; ++d) {                                                \
                    ak[4 + 3 * c + d] += -gir * f7 * R[c] * R[d] + 2.0 * f5 * gI[c] * R[d];  \
                    ai[4 + 3 * c + d] += gkr * f7 * R[c] * R[d] - 2.0 * f5 * gK[c] * R[d];   \
                }                                                                            \
            }                                                                                \
        }                                                                                    \
    }                                                                                        \
    REAL *out = backward ? grad_rows : field;                                                \
    if (out) {                                                                               \
        for (int64_t q = 0; q < n * width; ++q) {                                            \
            double sum = 0.0;                                                                \
            for (int t = 0; t < threads; ++t) sum += acc[(int64_t)t * n * width + q];        \
            out[q] = (REAL)sum;                                                              \
        }                                                                                    \
    }                                                                                        \
    free(acc);                                                                               \
    return 0;                                                                                \
}

DEFINE_REDUCE(float, f32)
DEFINE_REDUCE(double, f64)
DEFINE_DIPOLE_FIELD(float, f32)
DEFINE_DIPOLE_FIELD(double, f64)
DEFINE_PAIR_TERM(vdw, vdw_phi, float, f32)
DEFINE_PAIR_TERM(vdw, vdw_phi, double, f64)
DEFINE_PAIR_TERM(ct, ct_phi, float, f32)
DEFINE_PAIR_TERM(ct, ct_phi, double, f64)
DEFINE_VALENCE(float, f32)
DEFINE_VALENCE(double, f64)
DEFINE_MULTIPOLE(float, f32)
DEFINE_MULTIPOLE(double, f64)
DEFINE_PERMANENT_FIELD(float, f32)
DEFINE_PERMANENT_FIELD(double, f64)
