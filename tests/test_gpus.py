"""GPU assignment: one GPU per worker, round-robin, from CUDA_VISIBLE_DEVICES or the device count."""

from __future__ import annotations

import pytest

from robustrank.gpus import ray_num_gpus, uses_gpu, visible_gpus, worker_device, worker_visible_devices


@pytest.mark.parametrize(("env", "count", "expected"), [
    ({}, 0, []),
    ({}, 3, ["0", "1", "2"]),
    ({"CUDA_VISIBLE_DEVICES": "2,3"}, 2, ["2", "3"]),
    ({"CUDA_VISIBLE_DEVICES": " 1 , 0 "}, 2, ["1", "0"]),
    ({"CUDA_VISIBLE_DEVICES": ""}, 0, []),
    ({"CUDA_VISIBLE_DEVICES": ""}, 4, []),  # set but empty: CUDA sees nothing
    ({"CUDA_VISIBLE_DEVICES": "-1"}, 4, []),
    ({"CUDA_VISIBLE_DEVICES": "0,-1,1"}, 4, ["0"]),  # CUDA stops at the first invalid entry
    ({"CUDA_VISIBLE_DEVICES": "0,5"}, 1, ["0"]),  # never more than CUDA reports
    ({"CUDA_VISIBLE_DEVICES": "GPU-aa11,MIG-bb22"}, 2, ["GPU-aa11", "MIG-bb22"]),
])
def test_visible_gpus(env, count, expected):
    assert visible_gpus(env, count) == expected


def test_each_worker_takes_one_gpu_round_robin():
    gpus = ["0", "1", "2"]
    got = [worker_visible_devices(i, "auto", gpus) for i in range(7)]
    assert got == ["0", "1", "2", "0", "1", "2", "0"]
    assert len(set(got[:3])) == 3  # as many workers as GPUs: no two share one
    assert all("," not in g for g in got)  # exactly one GPU each
    assert [worker_visible_devices(i, "cuda", ["GPU-x", "GPU-y"]) for i in range(2)] == ["GPU-x", "GPU-y"]


def test_cuda_index_pins_every_worker():
    assert [worker_visible_devices(i, "cuda:1", ["4", "6"]) for i in range(3)] == ["6", "6", "6"]
    with pytest.raises(ValueError, match="only 2 GPU"):
        worker_visible_devices(0, "cuda:2", ["4", "6"])
    with pytest.raises(ValueError, match="cuda:N"):
        worker_visible_devices(0, "cuda:x", ["4"])


@pytest.mark.parametrize("device", ["cpu", "mps"])
def test_cpu_and_mps_take_no_gpu(device):
    assert not uses_gpu(device, ["0", "1"])
    assert worker_visible_devices(0, device, ["0", "1"]) is None
    assert ray_num_gpus(device, ["0", "1"]) == 0
    assert worker_device(device, ["0"]) == device


@pytest.mark.parametrize("device", ["auto", "cuda", "cuda:0"])
def test_gpu_devices_without_gpus(device):
    assert worker_visible_devices(3, device, []) is None
    assert ray_num_gpus(device, []) == 0
    assert worker_device(device, []) == device


@pytest.mark.parametrize("device", ["auto", "cuda", "cuda:1"])
def test_ray_tasks_ask_for_one_gpu_and_workers_use_their_only_gpu(device):
    assert ray_num_gpus(device, ["0", "1"]) == 1
    assert worker_device(device, ["0", "1"]) == "cuda:0"


def test_negative_worker_index_is_refused():
    with pytest.raises(ValueError, match="negative"):
        worker_visible_devices(-1, "auto", ["0"])
