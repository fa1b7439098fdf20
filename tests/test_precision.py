"""The bf16 warning: training in bf16 where it is emulated (an AVX2-only CPU) runs ~10x slower than fp32."""

from pathlib import Path

import pytest

from polibench.precision import check_precision, cpu_flags, native_bf16, slow_precision_warning

AVX2 = "processor\t: 0\nflags\t\t: fpu sse2 avx avx2 fma\n\nprocessor\t: 1\nflags\t\t: fpu sse2 avx avx2 fma\n"
BF16 = AVX2.replace("avx2 fma\n\n", "avx2 fma avx512f avx512_bf16\n\n", 1)


def _cpuinfo(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "cpuinfo"
    path.write_text(text)
    return path


def test_cpu_flags_are_the_union_over_processors():
    assert cpu_flags(BF16) == {"fpu", "sse2", "avx", "avx2", "fma", "avx512f", "avx512_bf16"}
    assert cpu_flags("model name\t: AMD EPYC\n") == frozenset()


def test_bf16_warns_only_where_it_is_emulated(tmp_path):
    avx2 = _cpuinfo(tmp_path, AVX2)
    assert native_bf16("cpu", avx2) is False
    warning = slow_precision_warning("cpu", "bf16", avx2)
    assert warning is not None and "precision = 'fp32'" in warning
    assert slow_precision_warning("cpu", "fp32", avx2) is None
    native = _cpuinfo(tmp_path, BF16)
    assert native_bf16("cpu", native) is True and slow_precision_warning("cpu", "bf16", native) is None


def test_unknown_cpu_does_not_warn(tmp_path):
    assert native_bf16("cpu", tmp_path / "missing") is None
    assert slow_precision_warning("cpu", "bf16", tmp_path / "missing") is None


def test_unknown_precision_names_the_setting():
    with pytest.raises(ValueError, match="TrainConfig.precision must be one of"):
        check_precision("fp16", "TrainConfig")
