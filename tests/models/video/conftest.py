"""Fixtures of the video model tests."""
import pytest
import torch


@pytest.fixture
def single_thread():
    """Tiny models run fastest on one thread when other processes share the CPU."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
