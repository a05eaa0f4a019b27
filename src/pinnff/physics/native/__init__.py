"""Hand-fused pair kernels in C (``pair_kernels.c``; PME's stencils in ``pme_kernels.c``, wrapped by
:mod:`pinnff.physics.native.pme`), with hand-written gradients, for CPU tensors.

A pair term run as torch operators reads and writes every (k,) row once per
operator, and gathers per-atom data onto pairs and scatters it back; on a
CPU the dispatch of thousands of such operators and their memory traffic,
not the arithmetic, set the cost of an MD step or a training evaluation.
These kernels visit each pair once (OpenMP over pairs, per-thread per-atom
accumulators in double precision). Each is a :class:`torch.autograd.Function`
whose backward is the analytic gradient (first order; under ``create_graph``
the backward runs the torch formula, so higher derivatives stay exact).

The C sources are compiled once per machine with the system C compiler
(``cc -O3 -fno-math-errno -fopenmp``) into ``$PINNFF_CACHE_DIR`` (default ``~/.cache/pinnff``),
under a name that hashes the source, flags and compiler, written atomically
(concurrent jobs are safe). Where no compiler works, or for CUDA tensors,
callers run their torch formula instead (one warning per process);
:func:`use` switches the kernels off for a process (benchmarks, tests that
compare the two paths). Threads follow ``torch.get_num_threads()``.
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import platform
import shutil
import subprocess
import tempfile
from pathlib import Path

import torch

log = logging.getLogger(__name__)

SOURCES = (Path(__file__).with_name("pair_kernels.c"), Path(__file__).with_name("pme_kernels.c"))
FLAGS = ("-O3", "-fno-math-errno", "-fopenmp", "-shared", "-fPIC")
_state: dict = {"enabled": True, "library": None, "failed": False}
KERNELS = ("dipole_field", "dipole_field_pair_grad", "vdw_pairs", "vdw_pairs_grad", "ct_pairs", "ct_pairs_grad",
           "valence", "multipole_pairs", "permanent_field", "pme_spread", "pme_project")


def use(enabled: bool) -> None:
    """Switch the native kernels of this process on (the default) or off (torch formulas)."""
    _state["enabled"] = bool(enabled)


def _compiler() -> str | None:
    for name in (os.environ.get("CC"), "cc", "gcc", "clang"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


def _cache_dir() -> Path:
    return Path(os.environ.get("PINNFF_CACHE_DIR", Path.home() / ".cache" / "pinnff")) / "native"


def _build(compiler: str) -> Path:
    """The shared library for these sources, flags, compiler and machine: built once, atomically."""
    version = subprocess.run([compiler, "--version"], capture_output=True, text=True, check=False).stdout
    digest = hashlib.sha256("\n".join([*(source.read_text() for source in SOURCES), " ".join(FLAGS), version,
                                       platform.machine()]).encode()).hexdigest()[:16]
    target = _cache_dir() / f"pair_kernels-{digest}.so"
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        built = Path(tmp) / target.name
        result = subprocess.run([compiler, *FLAGS, "-o", str(built), *map(str, SOURCES)], capture_output=True,
                                text=True)
        if result.returncode != 0:
            raise RuntimeError(result.stderr.strip().splitlines()[-1] if result.stderr.strip() else "compiler failed")
        os.replace(built, target)
    return target


def _library():
    """The loaded kernels (ctypes), compiled on first use; None where that fails (warned once)."""
    if _state["library"] is None and not _state["failed"]:
        compiler = _compiler()
        try:
            if compiler is None:
                raise RuntimeError("no C compiler (cc, gcc or clang) on PATH")
            lib = ctypes.CDLL(str(_build(compiler)))
        except (OSError, RuntimeError) as error:
            _state["failed"] = True
            log.warning("native pair kernels unavailable (%s); running the torch formulas", error)
            return None
        for name in KERNELS:
            for suffix in ("f32", "f64"):
                getattr(lib, f"{name}_{suffix}").restype = ctypes.c_int
        _state["library"] = lib
    return _state["library"]


def available(*tensors: torch.Tensor) -> bool:
    """Whether the native kernels serve these tensors: switched on, compiled, CPU, float32 or float64."""
    if not _state["enabled"] or any(t.device.type != "cpu" for t in tensors):
        return False
    if any(t.dtype not in (torch.float32, torch.float64) for t in tensors if t.is_floating_point()):
        return False
    return _library() is not None


def _ptr(t: torch.Tensor | None):
    """The address of ``t``'s data: ``t`` must stay referenced until the call returns."""
    return None if t is None else ctypes.c_void_p(t.data_ptr())


def _suffix(t: torch.Tensor) -> str:
    return "f32" if t.dtype == torch.float32 else "f64"


def _call(name: str, *args) -> None:
    code = getattr(_library(), name)(*args)
    if code == 1:
        raise MemoryError(f"native kernel {name}: allocation failed")
    if code != 0:
        raise ValueError(f"native kernel {name}: arguments out of its range (code {code})")


def _field(i, j, rv, f3, f5, m) -> torch.Tensor:
    out = torch.empty_like(m)
    _call(f"dipole_field_{_suffix(m)}", ctypes.c_int64(m.shape[0]), ctypes.c_int64(i.shape[0]), _ptr(i), _ptr(j),
          _ptr(rv), _ptr(f3), _ptr(f5), _ptr(m), _ptr(out), ctypes.c_int(torch.get_num_threads()))
    return out


def dipole_field_torch(i, j, rv, f3, f5, m) -> torch.Tensor:
    """The torch formula of :func:`dipole_field` (the reference, and the path of CUDA and ``create_graph``)."""
    mt = m.T
    mi, mj = mt.index_select(1, i), mt.index_select(1, j)
    f_i = -f3 * mj + f5 * rv * (mj * rv).sum(0)
    f_j = -f3 * mi + f5 * rv * (mi * rv).sum(0)
    field = torch.zeros(3, m.shape[0], dtype=m.dtype, device=m.device)
    return field.index_add(1, i, f_i).index_add(1, j, f_j).T


class _DipoleField(torch.autograd.Function):
    @staticmethod
    def forward(ctx, i, j, rv, f3, f5, m):
        ctx.save_for_backward(i, j, rv, f3, f5, m)
        return _field(i, j, rv, f3, f5, m)

    @staticmethod
    def backward(ctx, g):
        i, j, rv, f3, f5, m = ctx.saved_tensors
        if torch.is_grad_enabled():  # create_graph: the torch formula's gradient, itself differentiable
            inputs = (rv, f3, f5, m)
            wanted = [t for t, need in zip(inputs, ctx.needs_input_grad[2:]) if need]
            grads = iter(torch.autograd.grad(dipole_field_torch(i, j, *inputs), wanted, g, create_graph=True))
            return (None, None, *(next(grads) if need else None for need in ctx.needs_input_grad[2:]))
        g = g.contiguous()
        need_rv, need_f3, need_f5, need_m = ctx.needs_input_grad[2:]
        grad_rv = torch.empty_like(rv) if need_rv else None
        grad_f3 = torch.empty_like(f3) if need_f3 else None
        grad_f5 = torch.empty_like(f5) if need_f5 else None
        if need_rv or need_f3 or need_f5:
            _call(f"dipole_field_pair_grad_{_suffix(m)}", ctypes.c_int64(i.shape[0]), _ptr(i), _ptr(j), _ptr(rv),
                  _ptr(f5), _ptr(m), _ptr(g), _ptr(grad_rv), _ptr(grad_f3), _ptr(grad_f5),
                  ctypes.c_int(torch.get_num_threads()))
        grad_m = _field(i, j, rv, f3, f5, g) if need_m else None
        return None, None, grad_rv, grad_f3, grad_f5, grad_m


def dipole_field(i: torch.Tensor, j: torch.Tensor, rv: torch.Tensor, f3: torch.Tensor, f5: torch.Tensor,
                 m: torch.Tensor) -> torch.Tensor:
    """Field (n, 3) e/A^2 of dipoles ``m`` (n, 3) e*A over pairs ``i``, ``j`` (k,) at ``rv`` (3, k) = x_j - x_i:
    ``-f3 m + f5 r (m . r)`` of each atom's partner, with radial factors ``f3``, ``f5`` (k,) (damping and
    scale included). The native kernel where :func:`available`, else :func:`dipole_field_torch`."""
    if not available(rv, f3, f5, m):
        return dipole_field_torch(i, j, rv, f3, f5, m)
    dtype = m.dtype
    return _DipoleField.apply(i.contiguous(), j.contiguous(), rv.to(dtype).contiguous(), f3.to(dtype).contiguous(),
                              f5.to(dtype).contiguous(), m.contiguous())


class _Summed(torch.autograd.Function):
    """Summed pair energies whose gradients the kernel computed together with them, with unit weights:
    the backward pass only scales them, instead of a second pass over the pairs. ``run()`` returns the
    energy and one gradient per tensor (None where none is needed). ``owners`` None: the energy is
    the sum (0-d); else ``(pair_owner (k,), atom_owner (n,), size)``: one energy per segment (size,),
    exact because a pair and its atoms belong to one segment, so each gradient is scaled by its
    segment's incoming gradient (``axes``: per tensor, ``"pair"`` or ``"atom"`` and the dimension
    that runs over them). ``formula(*tensors)``, the per-pair energies in torch, serves second
    derivatives."""

    @staticmethod
    def forward(ctx, run, formula, owners, axes, *tensors):
        energy, ctx.grads = run()
        ctx.formula, ctx.owners, ctx.axes = formula, owners, axes
        ctx.save_for_backward(*tensors)
        return energy

    @staticmethod
    def backward(ctx, g):
        need = ctx.needs_input_grad[4:]
        if torch.is_grad_enabled():  # create_graph: the torch formula's gradient, itself differentiable
            tensors = ctx.saved_tensors
            wanted = [t for t, n in zip(tensors, need) if n]
            pairs = ctx.formula(*tensors)
            out = pairs.sum() if ctx.owners is None else _segment_sum(pairs, ctx.owners)
            grads = iter(torch.autograd.grad(out, wanted, g, create_graph=True))
            return (None, None, None, None, *(next(grads) if n else None for n in need))
        result = []
        for gr, n, (kind, dim) in zip(ctx.grads, need, ctx.axes):
            if gr is None or not n:
                result.append(None)
            elif ctx.owners is None:
                result.append(g * gr)
            else:
                weight = g.index_select(0, ctx.owners[0] if kind == "pair" else ctx.owners[1])
                shape = [1] * gr.dim()
                shape[dim] = -1
                result.append(gr * weight.reshape(shape))
        return (None, None, None, None, *result)


def _segment_sum(pair_energies: torch.Tensor, owners) -> torch.Tensor:
    """Per-segment sums (size,) of per-pair energies (k,) by ``owners`` = (pair_owner, atom_owner, size)."""
    return pair_energies.new_zeros(owners[2]).index_add(0, owners[0], pair_energies)


def _summed_energy(pairs: torch.Tensor | None, total, owners):
    """The kernel's total (0-d) or, with ``owners``, its per-pair energies summed per segment."""
    return pairs.new_tensor(total.value) if owners is None else _segment_sum(pairs, owners)


def _wants_grad(*tensors) -> bool:
    return torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in tensors)


def _pair_args(i, j, x, shift, scale, a, b, rule, r_on, r_off):
    return (_ptr(i), _ptr(j), _ptr(x), _ptr(shift), _ptr(scale), _ptr(a), _ptr(b), ctypes.c_int(rule),
            ctypes.c_double(r_on), ctypes.c_double(r_off))


class _PairTerm(torch.autograd.Function):
    @staticmethod
    def forward(ctx, term, i, j, x, shift, scale, a, b, rule, r_on, r_off, formula):
        ctx.save_for_backward(i, j, x, shift, scale, a, b)
        ctx.settings = (term, rule, r_on, r_off, formula)
        energy = torch.empty_like(scale)
        _call(f"{term}_pairs_{_suffix(x)}", ctypes.c_int64(i.shape[0]),
              *_pair_args(i, j, x, shift, scale, a, b, rule, r_on, r_off), _ptr(energy),
              ctypes.c_int(torch.get_num_threads()))
        return energy

    @staticmethod
    def backward(ctx, grad_e):
        i, j, x, shift, scale, a, b = ctx.saved_tensors
        term, rule, r_on, r_off, formula = ctx.settings
        need = (ctx.needs_input_grad[3], ctx.needs_input_grad[6], ctx.needs_input_grad[7])
        if torch.is_grad_enabled():  # create_graph: the torch formula's gradient, itself differentiable
            wanted = [t for t, n in zip((x, a, b), need) if n]
            grads = iter(torch.autograd.grad(formula(i, j, x, shift, scale, a, b), wanted, grad_e, create_graph=True))
            g_x, g_a, g_b = (next(grads) if n else None for n in need)
        else:
            g_x, g_a, g_b = (torch.empty_like(t) if n else None for t, n in zip((x, a, b), need))
            grad_e = grad_e.contiguous()  # kept alive for the call (an expanded gradient is copied)
            _call(f"{term}_pairs_grad_{_suffix(x)}", ctypes.c_int64(x.shape[0]), ctypes.c_int64(i.shape[0]),
                  *_pair_args(i, j, x, shift, scale, a, b, rule, r_on, r_off), _ptr(grad_e),
                  _ptr(g_x), _ptr(g_a), _ptr(g_b), None, None, ctypes.c_int(torch.get_num_threads()))
        return None, None, None, g_x, None, None, g_a, g_b, None, None, None, None


PAIR_TERMS = {"vdw": "buffered 14-7: a = R_min (A), b = epsilon (kcal/mol), rule 0 HHG or 1 W-H",
              "ct": "charge transfer: a = A, b = B (1/A): sqrt|A_i A_j| exp(-(B_i + B_j) r / 2)"}


def pair_energies(term: str, i: torch.Tensor, j: torch.Tensor, x: torch.Tensor, shift: torch.Tensor | None,
                  scale: torch.Tensor, a: torch.Tensor, b: torch.Tensor, r_on: float, r_off: float, formula,
                  rule: int = 0, summed: bool = False, owners=None) -> torch.Tensor:
    """Energies (k,) of the pair term ``term`` (:data:`PAIR_TERMS`) for pairs ``i``, ``j`` (k,) of sites ``x``
    (n, 3) A (``shift`` (k, 3) A or None): ``scale`` (k,) times the quintic switch from ``r_on`` to ``r_off``
    A (``inf``: no cutoff; zero beyond) times the pair function of the per-atom parameters ``a``, ``b``
    (n,). Differentiable in ``x``, ``a`` and ``b``; ``formula`` (``(i, j, x, shift, scale, a, b) ->
    (k,)``, the same energies in torch) serves second derivatives. ``summed``: their sum (0-d) instead,
    or with ``owners`` = (segment of each pair (k,), of each atom (n,), segments) one sum per segment;
    where a gradient is wanted it is computed in the same pass over the pairs. Call only where
    :func:`available`."""
    if term not in PAIR_TERMS:
        raise ValueError(f"unknown native pair term {term!r}")
    dtype = x.dtype
    i, j, xc = i.contiguous(), j.contiguous(), x.contiguous()
    shift = None if shift is None else shift.to(dtype).contiguous()
    scale, ac, bc = scale.to(dtype).contiguous(), a.to(dtype).contiguous(), b.to(dtype).contiguous()
    if not (summed and _wants_grad(x, a, b)):
        energies = _PairTerm.apply(term, i, j, xc, shift, scale, ac, bc, int(rule), float(r_on), float(r_off),
                                   formula)
        if not summed:
            return energies
        return energies.sum() if owners is None else _segment_sum(energies, owners)

    def run():
        total = ctypes.c_double()
        pairs = None if owners is None else torch.empty_like(scale)
        grads = [torch.empty_like(t) if t.requires_grad else None for t in (xc, ac, bc)]
        _call(f"{term}_pairs_grad_{_suffix(xc)}", ctypes.c_int64(xc.shape[0]), ctypes.c_int64(i.shape[0]),
              *_pair_args(i, j, xc, shift, scale, ac, bc, int(rule), float(r_on), float(r_off)), None,
              *(_ptr(g) for g in grads), ctypes.byref(total), _ptr(pairs), ctypes.c_int(torch.get_num_threads()))
        return _summed_energy(xc if pairs is None else pairs, total, owners), grads

    return _Summed.apply(run, lambda *t: formula(i, j, t[0], shift, scale, t[1], t[2]), owners,
                         (("atom", 0),) * 3, xc, ac, bc)


class _Valence(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, constants, terms, formula):
        energy = ctypes.c_double()
        grad = torch.empty_like(x)
        args = []
        for index, *params in terms:
            args += [ctypes.c_int64(index.shape[0]), _ptr(index), *(_ptr(p) for p in params)]
        _call(f"valence_{_suffix(x)}", ctypes.c_int64(x.shape[0]), _ptr(x),
              ctypes.cast(constants.ctypes.data, ctypes.c_void_p), *args, ctypes.byref(energy), _ptr(grad),
              ctypes.c_int(torch.get_num_threads()))
        ctx.save_for_backward(x, grad)
        ctx.formula = formula
        return x.new_tensor(energy.value)

    @staticmethod
    def backward(ctx, grad_energy):
        x, grad = ctx.saved_tensors
        if torch.is_grad_enabled():  # create_graph: the torch formula's gradient, itself differentiable
            (g,) = torch.autograd.grad(ctx.formula(x), x, grad_energy, create_graph=True)
            return g, None, None, None
        return grad_energy * grad, None, None, None


def valence_energy(x: torch.Tensor, constants, bonds: tuple, angles: tuple, torsions: tuple, formula) -> torch.Tensor:
    """MMFF94 valence energy (0-d, kcal/mol) of positions ``x`` (n, 3) A with fixed parameters, differentiable
    in ``x``: ``bonds`` = (index (m, 2), k_b, r_0), ``angles`` = (index (m, 3), k_a, theta_0 (deg), the two
    bonds' r_0 (m, 2), stretch-bend k (m, 2)), ``torsions`` = (index (m, 4), V (m, 3)), every parameter
    per term instance; ``constants`` (6,) float64 numpy: bond k, cubic stretch (1/A), angle k, cubic bend
    (1/deg), stretch-bend k, degrees per radian (:mod:`pinnff.physics.intramolecular`). ``formula(x)``, the
    same energy in torch, serves second derivatives. Call only where :func:`available`."""
    dtype = x.dtype
    terms = [tuple([t[0].contiguous()] + [p.to(dtype).contiguous() for p in t[1:]]) for t in (bonds, angles, torsions)]
    return _Valence.apply(x.contiguous(), constants, terms, formula)


class _MultipolePairs(torch.autograd.Function):
    @staticmethod
    def forward(ctx, i, j, rv, f, rows, core, alpha, cp_scale, formula):
        ctx.save_for_backward(i, j, rv, f, rows, core, alpha, cp_scale)
        ctx.formula = formula
        energy = torch.empty_like(f[0])
        _call(f"multipole_pairs_{_suffix(rv)}", ctypes.c_int64(rows.shape[0]), ctypes.c_int64(i.shape[0]), _ptr(i),
              _ptr(j), _ptr(rv), _ptr(f), _ptr(rows), _ptr(core), _ptr(alpha), _ptr(cp_scale), None, _ptr(energy),
              *([None] * 8), ctypes.c_int(torch.get_num_threads()))
        return energy

    @staticmethod
    def backward(ctx, grad_e):
        i, j, rv, f, rows, core, alpha, cp_scale = ctx.saved_tensors
        inputs = (rv, f, rows, core, alpha, cp_scale)
        need = ctx.needs_input_grad[2:8]
        if torch.is_grad_enabled():  # create_graph: the torch formula's gradient, itself differentiable
            wanted = [t for t, n in zip(inputs, need) if n]
            grads = iter(torch.autograd.grad(ctx.formula(i, j, *inputs), wanted, grad_e, create_graph=True))
            return (None, None, *(next(grads) if n else None for n in need), None)
        grad_e = grad_e.contiguous()  # kept alive for the call
        grads = [torch.empty_like(t) if t is not None and n else None for t, n in zip(inputs, need)]
        _call(f"multipole_pairs_{_suffix(rv)}", ctypes.c_int64(rows.shape[0]), ctypes.c_int64(i.shape[0]), _ptr(i),
              _ptr(j), _ptr(rv), _ptr(f), _ptr(rows), _ptr(core), _ptr(alpha), _ptr(cp_scale), _ptr(grad_e), None,
              *(_ptr(g) for g in grads), None, None, ctypes.c_int(torch.get_num_threads()))
        return (None, None, *(g if n else None for g, n in zip(grads, need)), None)


def multipole_pairs(i: torch.Tensor, j: torch.Tensor, rv: torch.Tensor, f: torch.Tensor, rows: torch.Tensor,
                    core: torch.Tensor | None, alpha: torch.Tensor | None, cp_scale: torch.Tensor | None,
                    formula, summed: bool = False, owners=None) -> torch.Tensor:
    """Permanent-multipole pair energies (k,) e^2/A of pairs ``i``, ``j`` (k,) at ``rv`` (3, k) = x_j - x_i A
    (:func:`pinnff.physics.multipole.multipole_pair_energy`): radial factors ``f`` (5, k) (screening and
    scale included), per-atom ``rows`` (n, 13) (charge, dipole, Q = Theta/3 row by row), with GORDON2
    penetration the cores ``core`` and exponents ``alpha`` (n,) and the pair scales ``cp_scale`` (k,)
    (all None: none). Differentiable in every tensor; ``formula`` (the same arguments but ``formula``,
    in torch) serves second derivatives. ``summed``: their sum (0-d) instead, or with ``owners`` (see
    :func:`pair_energies`) one per segment; where a gradient is wanted it is computed in the same pass
    over the pairs. Call only where :func:`available`."""
    dtype = rv.dtype
    cast = [None if t is None else t.to(dtype).contiguous() for t in (core, alpha, cp_scale)]
    if (cast[2] is None) != (cast[0] is None) or (cast[0] is None) != (cast[1] is None):
        raise ValueError("charge penetration needs core, alpha and cp_scale together")
    i, j = i.contiguous(), j.contiguous()
    tensors = (rv.contiguous(), f.to(dtype).contiguous(), rows.to(dtype).contiguous(), *cast)
    if not (summed and _wants_grad(rv, f, rows, core, alpha, cp_scale)):
        energies = _MultipolePairs.apply(i, j, *tensors, formula)
        if not summed:
            return energies
        return energies.sum() if owners is None else _segment_sum(energies, owners)

    def run():
        total = ctypes.c_double()
        pairs = None if owners is None else torch.empty_like(tensors[1][0])
        wanted = [t is not None and t.requires_grad for t in tensors]
        # every gradient only where wanted (the pair vectors' and radial factors' cost a third of the pass)
        grads = [torch.empty_like(t) if t is not None and w else None for t, w in zip(tensors, wanted)]
        _call(f"multipole_pairs_{_suffix(tensors[0])}", ctypes.c_int64(tensors[2].shape[0]),
              ctypes.c_int64(i.shape[0]), _ptr(i), _ptr(j), *(_ptr(t) for t in tensors), None, None,
              *(_ptr(g) for g in grads), ctypes.byref(total), _ptr(pairs), ctypes.c_int(torch.get_num_threads()))
        return (_summed_energy(tensors[0] if pairs is None else pairs, total, owners),
                [g if w else None for g, w in zip(grads, wanted)])

    axes = (("pair", 1), ("pair", 1), ("atom", 0), ("atom", 0), ("atom", 0), ("pair", 0))
    return _Summed.apply(run, lambda *t: formula(i, j, *t), owners, axes, *tensors)


class _PermanentField(torch.autograd.Function):
    @staticmethod
    def forward(ctx, i, j, rv, factors, rows, formula):
        ctx.save_for_backward(i, j, rv, factors, rows)
        ctx.formula = formula
        field = rows.new_empty(rows.shape[0], 3)
        _call(f"permanent_field_{_suffix(rv)}", ctypes.c_int64(rows.shape[0]), ctypes.c_int64(i.shape[0]), _ptr(i),
              _ptr(j), _ptr(rv), _ptr(factors), _ptr(rows), None, _ptr(field), None, None, None,
              ctypes.c_int(torch.get_num_threads()))
        return field

    @staticmethod
    def backward(ctx, g):
        i, j, rv, factors, rows = ctx.saved_tensors
        need = ctx.needs_input_grad[2:5]
        if torch.is_grad_enabled():  # create_graph: the torch formula's gradient, itself differentiable
            inputs = (rv, factors, rows)
            wanted = [t for t, n in zip(inputs, need) if n]
            grads = iter(torch.autograd.grad(ctx.formula(i, j, *inputs), wanted, g, create_graph=True))
            return (None, None, *(next(grads) if n else None for n in need), None)
        g = g.contiguous()
        grad_rv, grad_factors, grad_rows = (torch.empty_like(t) if n else None for t, n in zip((rv, factors, rows), need))
        _call(f"permanent_field_{_suffix(rv)}", ctypes.c_int64(rows.shape[0]), ctypes.c_int64(i.shape[0]), _ptr(i),
              _ptr(j), _ptr(rv), _ptr(factors), _ptr(rows), _ptr(g), None, _ptr(grad_rv), _ptr(grad_factors),
              _ptr(grad_rows), ctypes.c_int(torch.get_num_threads()))
        return (None, None, grad_rv, grad_factors, grad_rows, None)


def permanent_field(i: torch.Tensor, j: torch.Tensor, rv: torch.Tensor, factors: torch.Tensor, rows: torch.Tensor,
                    formula) -> torch.Tensor:
    """Field (n, 3) e/A^2 of the permanent multipoles ``rows`` (n, 13) (charge, dipole, Q = Theta/3 row by row)
    over pairs ``i``, ``j`` (k,) at ``rv`` (3, k) = x_j - x_i A with radial factors ``factors`` (3, k) of
    1/r^3, 3/r^5, 15/r^7 (damping and scale included): at each pair's i of j's multipoles and at j of
    i's. Differentiable in ``rv``, ``factors`` and ``rows``; ``formula`` (the same arguments but
    ``formula``, in torch) serves second derivatives. Call only where :func:`available`."""
    dtype = rv.dtype
    return _PermanentField.apply(i.contiguous(), j.contiguous(), rv.contiguous(), factors.to(dtype).contiguous(),
                                 rows.to(dtype).contiguous(), formula)
