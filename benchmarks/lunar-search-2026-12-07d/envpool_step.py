"""CPU of envpool's LunarLander-v3 alone, per row-step, on random actions: the floor under a
node's worker CPU (whose figure, 18-21 us a row-step, is in README.md). The main thread's
own CPU says whether waiting for the pool's thread spins.

    .venv/bin/python benchmarks/lunar-search-2026-12-07d/envpool_step.py
"""
import time

import numpy as np

from envs.simulators import import_envpool


def main() -> None:
    envpool = import_envpool()
    for n in (32, 4):
        pool = envpool.make("LunarLander-v3", env_type="gymnasium", num_envs=n, seed=1,
                            num_threads=1)
        pool.reset()
        rng = np.random.default_rng(0)
        ids = np.arange(n, dtype=np.int32)
        wall, cpu, main_thread = time.perf_counter(), time.process_time(), time.thread_time()
        for _ in range(3000):
            pool.send(rng.integers(0, 4, n).astype(np.int32), ids)
            pool.recv()
        steps = 3000 * n
        print(f"{n} environments: wall {(time.perf_counter() - wall) / steps * 1e6:.2f} us, "
              f"process CPU {(time.process_time() - cpu) / steps * 1e6:.2f} us, main thread "
              f"{(time.thread_time() - main_thread) / steps * 1e6:.2f} us a row-step")


if __name__ == "__main__":
    main()
