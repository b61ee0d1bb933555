import threading
import time

import numpy as np

from moodline.engine.ringbuffer import RingBuffer


def ramp(start, n):
    return np.arange(start, start + n, dtype=np.float32)


def test_reads_from_an_absolute_index_across_the_wrap():
    ring = RingBuffer(10)
    ring.write(ramp(0, 7))
    ring.write(ramp(7, 6))  # wraps
    assert ring.written == 13 and ring.oldest == 3
    first, samples = ring.read(5)
    assert first == 5
    np.testing.assert_array_equal(samples, ramp(5, 8))
    first, samples = ring.read(8, max_samples=3)
    np.testing.assert_array_equal(samples, ramp(8, 3))


def test_a_slow_reader_loses_the_oldest_audio_and_is_told_how_much():
    ring = RingBuffer(10)
    ring.write(ramp(0, 25))
    first, samples = ring.read(4)
    assert first == 15  # 11 samples were overwritten before they were read
    np.testing.assert_array_equal(samples, ramp(15, 10))


def test_nothing_new_reads_empty():
    ring = RingBuffer(4)
    ring.write(ramp(0, 3))
    first, samples = ring.read(3)
    assert first == 3 and len(samples) == 0


def test_concurrent_producer_and_consumer_see_every_sample_in_order():
    ring = RingBuffer(4096)
    block = 480
    total = 1000 * block
    seen, lost = [], 0
    done = threading.Event()

    def produce():
        for start in range(0, total, block):
            ring.write(ramp(start, block))
            if start % (20 * block) == 0:
                time.sleep(0.0005)  # a sound card delivers in bursts, letting the reader in
        done.set()

    thread = threading.Thread(target=produce)
    thread.start()
    pos = 0
    while not (done.is_set() and pos >= ring.written):
        first, samples = ring.read(pos)
        lost += first - pos
        if len(samples):
            seen.append(samples)
        pos = first + len(samples)
    thread.join()
    got = np.concatenate(seen)
    # Whatever was read is exactly the stream, in order, with gaps only where it says it lost audio.
    assert len(got) + lost == total
    assert np.all(np.diff(got) >= 1)
    assert np.array_equal(np.unique(got), got)
    assert got[-1] == total - 1
    assert len(got) > ring.capacity  # the reader really did read while the writer wrote
